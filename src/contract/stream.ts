// The stream contract between the gateway client (src/client/stream.ts) and server (src/server/stream.ts):
// an HTTP/1.1 `GET <url path>/stream` with `Connection: Upgrade` and `Upgrade: media-gateway-stream/1`,
// admitted like a POST, answered `101`; then length-prefixed frames on the same connection, one batch at a
// time, so that each batch costs a frame header instead of an HTTP request and response:
// * client → server `batch`: header, then `metaLength` bytes of JSON naming the batch's per-item headers
//   (message ids, trace contexts: exactly what POST /batch sends as headers), then `bodyLength` bytes of
//   a MediaBatch, the POST /batch body;
// * server → client `reply`: a u16 status and the text POST /batch would have answered with that status
//   (`{"accepted": n, "status": s}` with 200, or an empty text with a status refusing the whole batch);
// * server → client `error`: a stable code (docs/errors.md), then the server closes the stream.
// Every frame starts with FRAME_HEADER_BYTES: type u8, metaLength u32 BE, bodyLength u32 BE.

export const STREAM_ENDPOINT = 'stream';
export const STREAM_PROTOCOL = 'media-gateway-stream/1';
export const FRAME_HEADER_BYTES = 9;

export const FRAME = {
  batch: 0x01,
  reply: 0x81,
  error: 0x82,
} as const;

/** Largest meta block of a batch frame: the per-item header values of up to 256+ items fit well within. */
export const MAX_META_BYTES = 256 * 1024;
/** Largest server → client frame body a client reads (a reply or an error code is a few dozen bytes). */
export const MAX_SERVER_FRAME_BYTES = 64 * 1024;

/** The per-item headers a batch frame may carry in its meta block; any other name is refused. */
export const STREAM_META_HEADERS: ReadonlySet<string> = new Set([
  'x-media-gateway-message-ids',
  'x-media-gateway-trace-contexts',
]);

export function frameHeader(type: number, metaLength: number, bodyLength: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(metaLength, 1);
  h.writeUInt32BE(bodyLength, 5);
  return h;
}

export interface FrameHeader {
  type: number;
  metaLength: number;
  bodyLength: number;
}

export function readFrameHeader(b: Buffer): FrameHeader {
  return { type: b.readUInt8(0), metaLength: b.readUInt32BE(1), bodyLength: b.readUInt32BE(5) };
}

/** A server's reply frame: what POST /batch answered, as status and body text. */
export function replyFrame(status: number, text: string): Buffer {
  const body = Buffer.from(text);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 2 + body.length);
  frameHeader(FRAME.reply, 0, 2 + body.length).copy(out, 0);
  out.writeUInt16BE(status, FRAME_HEADER_BYTES);
  body.copy(out, FRAME_HEADER_BYTES + 2);
  return out;
}

export function errorFrame(code: string): Buffer {
  const body = Buffer.from(code);
  return Buffer.concat([frameHeader(FRAME.error, 0, body.length), body]);
}
