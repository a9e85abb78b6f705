// Savant messages on ZeroMQ: socket URLs, the reader (client side) and writer (server side), the
// Media/MediaBatch codec with its field budgets, and the W3C trace context carried inside messages.
export { DecodeLimitError, type FieldBudget, FieldScanner } from './field-scan.js';
export { probeUnixSocket } from './ipc.js';
export {
  type ChunkedBody,
  type Media,
  batchBudget,
  decodeMedia,
  decodeMediaBatch,
  encodeMedia,
  encodeMediaChunks,
  encodedMediaLength,
  mediaBudget,
} from './media.js';
export { MessageDecodeError, type MessageInfo, buildMessage, inspectMessage } from './message.js';
export {
  hasPropagatedContext,
  readPropagatedContext,
  replacePropagatedContext,
} from './propagated-context.js';
export { NOTHING_OWED, type ReadResult, SavantReader } from './reader.js';
export { type SocketUrl, parseSocketUrl } from './url.js';
export { SavantWriter, type WriteResult } from './writer.js';
