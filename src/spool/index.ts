// The client's durable store-and-forward spool (docs/spool.md). Public surface: open a Spool, admit
// messages read from ZeroMQ, feed the sender from it, complete entries; its metrics and events; the
// identity header that carries (instance id, sequence numbers) to the server; the offline inspection
// used by `media-gateway spool`.
export {
  Spool,
  SpoolError,
  endOfStreamReserve,
  segmentBytes,
  DEGRADED_SHARE,
  type Admission,
  type DropReason,
  type SpoolEvents,
  type SpoolOptions,
  type SpooledEntry,
  type WhenFull,
} from './spool.js';
export type { SpoolMessage, StoredMessage } from './record.js';
export type { SyncMode } from './segment-log.js';
export { observeSpool, spoolEvents } from './observe.js';
export { MESSAGE_IDS_HEADER, formatMessageIds, parseMessageIds, type MessageIds } from './identity.js';
export { inspectSpool, exportSpool, type SpoolReport } from './inspect.js';
