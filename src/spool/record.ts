// The on-disk form of one spooled message. A record is a 12-byte header (magic, body length, CRC-32 of the
// body) followed by the body: sequence number, time read, flags, topic, message and extra frames, each
// length-prefixed. The checksum is what lets a reader tell a torn or damaged record from a good one and
// skip it instead of delivering garbage (see segment-log.ts for how it resynchronises).
import zlib from 'node:zlib';

export const RECORD_MAGIC = 0x4c4f5053; // "SPOL" little-endian
export const HEADER_BYTES = 12;
/** seq (8) + time (8) + flags (1) + frame count (1) + topic length (4) */
const FIXED_BODY_BYTES = 22;
/** A body larger than this is damage, not a message (the server's own body limit is far below). */
export const MAX_BODY_BYTES = 1024 * 1024 * 1024;
const FLAG_EOS = 1;
/** Savant messages have the message frame plus a few extra frames; a byte holds the count. */
export const MAX_FRAMES = 255;

export interface SpoolMessage {
  topic: Uint8Array;
  message: Uint8Array;
  data: Uint8Array[];
  endOfStream: boolean;
}

export interface StoredMessage extends SpoolMessage {
  seq: number;
  /** when it was read from ZeroMQ, ms since the epoch */
  time: number;
}

/** The chunks of one record, ready for writev (frames are referenced, not copied). */
export function encodeRecord(
  m: SpoolMessage,
  seq: number,
  time: number,
): { chunks: Uint8Array[]; length: number } {
  if (m.data.length + 1 > MAX_FRAMES)
    throw new RangeError(`a spooled message has at most ${MAX_FRAMES} frames`);
  const frames = [m.message, ...m.data];
  const fixed = Buffer.allocUnsafe(HEADER_BYTES + FIXED_BODY_BYTES + m.topic.length + frames.length * 4);
  let pos = HEADER_BYTES;
  // two 32-bit halves: no BigInt per message (sequence numbers stay below 2^53)
  fixed.writeUInt32LE(seq % 0x100000000, pos);
  fixed.writeUInt32LE(Math.floor(seq / 0x100000000), pos + 4);
  fixed.writeDoubleLE(time, pos + 8);
  fixed[pos + 16] = m.endOfStream ? FLAG_EOS : 0;
  fixed[pos + 17] = frames.length;
  fixed.writeUInt32LE(m.topic.length, pos + 18);
  pos += FIXED_BODY_BYTES;
  fixed.set(m.topic, pos);
  pos += m.topic.length;
  const chunks: Uint8Array[] = [];
  let crc = 0;
  let bodyLength = 0;
  // Each frame's length prefix sits in `fixed`; the frame bytes themselves are separate chunks.
  const lengths = fixed.subarray(pos);
  frames.forEach((f, i) => lengths.writeUInt32LE(f.length, i * 4));
  const head = fixed.subarray(HEADER_BYTES);
  crc = zlib.crc32(head, crc);
  bodyLength += head.length;
  chunks.push(fixed);
  for (const f of frames) {
    crc = zlib.crc32(f, crc);
    bodyLength += f.length;
    if (f.length > 0) chunks.push(f);
  }
  if (bodyLength > MAX_BODY_BYTES) throw new RangeError('a spooled message is larger than 1 GiB');
  fixed.writeUInt32LE(RECORD_MAGIC, 0);
  fixed.writeUInt32LE(bodyLength, 4);
  fixed.writeUInt32LE(crc >>> 0, 8);
  return { chunks, length: HEADER_BYTES + bodyLength };
}

export interface RecordHeader {
  bodyLength: number;
  crc: number;
}

/** The header at the start of `b`, or undefined when it is not one (wrong magic, impossible length). */
export function readHeader(b: Uint8Array): RecordHeader | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, HEADER_BYTES);
  if (v.readUInt32LE(0) !== RECORD_MAGIC) return undefined;
  const bodyLength = v.readUInt32LE(4);
  if (bodyLength < FIXED_BODY_BYTES || bodyLength > MAX_BODY_BYTES) return undefined;
  return { bodyLength, crc: v.readUInt32LE(8) };
}

export function bodyIntact(header: RecordHeader, body: Uint8Array): boolean {
  return body.length === header.bodyLength && zlib.crc32(body) >>> 0 === header.crc;
}

/** Summary fields of a body, readable from its first bytes without the frames. */
export interface RecordSummary {
  seq: number;
  time: number;
  endOfStream: boolean;
  topic: Uint8Array;
}

/** Bytes of the body read for summarize(): the fixed part and a topic of up to 4 KiB (longer ones read the body). */
export const SUMMARY_BYTES = FIXED_BODY_BYTES + 4096;

export function summarize(body: Uint8Array): RecordSummary | undefined {
  if (body.length < FIXED_BODY_BYTES) return undefined;
  const v = Buffer.from(body.buffer, body.byteOffset, body.length);
  const topicLength = v.readUInt32LE(18);
  if (FIXED_BODY_BYTES + topicLength > body.length) return undefined;
  return {
    seq: Number(v.readBigUInt64LE(0)),
    time: v.readDoubleLE(8),
    endOfStream: (v[16] & FLAG_EOS) !== 0,
    topic: v.subarray(FIXED_BODY_BYTES, FIXED_BODY_BYTES + topicLength),
  };
}

/** Decodes an intact body (checked with bodyIntact) into the message; frames are subarrays of `body`. */
export function decodeBody(body: Uint8Array): StoredMessage | undefined {
  const s = summarize(body);
  if (!s) return undefined;
  const v = Buffer.from(body.buffer, body.byteOffset, body.length);
  const frameCount = v[17];
  let pos = FIXED_BODY_BYTES + s.topic.length;
  if (frameCount < 1 || pos + frameCount * 4 > body.length) return undefined;
  const lengths: number[] = [];
  for (let i = 0; i < frameCount; i++) lengths.push(v.readUInt32LE(pos + i * 4));
  pos += frameCount * 4;
  const frames: Uint8Array[] = [];
  for (const length of lengths) {
    if (pos + length > body.length) return undefined;
    frames.push(v.subarray(pos, pos + length));
    pos += length;
  }
  if (pos !== body.length) return undefined;
  const [message, ...data] = frames;
  return { seq: s.seq, time: s.time, endOfStream: s.endOfStream, topic: s.topic, message, data };
}

/** The bytes `m` takes on disk as a record. */
export function recordLength(m: SpoolMessage): number {
  let length = HEADER_BYTES + FIXED_BODY_BYTES + m.topic.length + 4 + m.message.length;
  for (const d of m.data) length += 4 + d.length;
  return length;
}
