// The HTTP contract between the gateway client (src/client/) and server (src/server/), in one module
// both halves import, so what a status means cannot drift between them:
// * POST <url path> carries one `Media` protobuf, POST <url path>/batch a `MediaBatch` (src/savant/media.ts),
//   both with Content-Type application/protobuf;
// * the status says what became of the message (docs/zeromq.md says what a 200 guarantees per writer type);
// * a 401 refusing a client certificate carries `{"error":"<code>"}` (src/tls/refusal-answer.ts);
// * /batch answers 200 with `{"accepted": n, "status": s}` (./batch-reply.ts).

export const MEDIA_CONTENT_TYPE = 'application/protobuf';
/** Also accepted from peers, never sent. */
export const MEDIA_CONTENT_TYPE_ALIAS = 'application/x-protobuf';
/** The batch endpoint's name, next to the single-message path. */
export const BATCH_ENDPOINT = 'batch';

/** The statuses the server answers a POST with, and what each means to the client. */
export const STATUS = {
  /** forwarded to the ZeroMQ socket (acknowledged where the socket type acknowledges) */
  delivered: 200,
  /** malformed body or wrong Content-Type: the same bytes can never succeed (dead-lettered) */
  malformed: 400,
  /** certificate or credentials refused (retried at the slow pace until someone fixes them) */
  refused: 401,
  /** the credentials do not allow this route */
  forbidden: 403,
  /** body over max_body_size or over a decode limit: the same bytes can never succeed (dead-lettered) */
  tooLarge: 413,
  /** the ZeroMQ send failed */
  sendError: 500,
  /** a req/dealer writer's acknowledgement did not come in time */
  ackTimeout: 502,
  /** the ZeroMQ send did not complete in time */
  sendTimeout: 504,
} as const;

/** Statuses that can never succeed for the same bytes: the client dead-letters the message. */
export const PERMANENT_STATUSES: ReadonlySet<number> = new Set([STATUS.malformed, STATUS.tooLarge]);
/** Answers classified as refusals by the client (src/client/refusal.ts): the server did not take the request. */
export const REFUSAL_STATUSES: ReadonlySet<number> = new Set([STATUS.refused, STATUS.forbidden]);
/** Statuses of a server without the batch endpoint (the original Media Gateway answers 404). */
export const NO_BATCH_ENDPOINT_STATUSES: ReadonlySet<number> = new Set([404, 405, 415]);

export { formatBatchReply, parseBatchReply, type BatchReply } from './batch-reply.js';
