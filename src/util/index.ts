// Small utilities at the bottom of the dependency graph (no imports from any domain folder): logging,
// bounded maps, peer-supplied text escaping, bounded file reads, repeated-log folding, usage text, the
// version string and free ports.
export { logger } from './log.js';
export { freePort } from './free-port.js';
export { peerText } from './peer-text.js';
export { readRegularFile } from './regular-file.js';
export { RepeatLog } from './repeat-log.js';
