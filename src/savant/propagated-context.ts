// Message.propagated_context (field 3, map<string, string>: the OpenTelemetry text-map carrier Savant
// modules inject their trace context into). hasPropagatedContext() is the cheap test run on every message
// while tracing is on: one pass over the top-level tags and lengths, no allocation, so untraced messages
// cost next to nothing. Reading and rewriting the map happen only for messages that have one; a rewrite
// keeps every other field byte for byte and puts the new map where the old one was.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeStep } from './message.js';

const PROPAGATED_CONTEXT = 3;

// The scan keeps its state in these two variables instead of returning tuples or taking callbacks: it runs
// on every message while tracing is on and must not allocate.
let scanValue = 0;
let scanPos = 0;

/** Reads a varint at `pos` into scanValue/scanPos; false when malformed or truncated. */
function varint(b: Uint8Array, pos: number): boolean {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos < b.length; i++) {
    const byte = b[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      scanValue = value;
      scanPos = pos;
      return true;
    }
    scale *= 128;
  }
  return false;
}

/**
 * Steps over the top-level field starting at `pos`: sets scanValue to its field number and scanPos to the
 * position after it; false when the bytes are malformed.
 */
function nextField(b: Uint8Array, pos: number): boolean {
  if (!varint(b, pos)) return false;
  const tag = scanValue;
  pos = scanPos;
  switch (tag & 7) {
    case WireType.Varint:
      if (!varint(b, pos)) return false;
      pos = scanPos;
      break;
    case WireType.Bit64:
      pos += 8;
      break;
    case WireType.Bit32:
      pos += 4;
      break;
    case WireType.LengthDelimited:
      if (!varint(b, pos)) return false;
      pos = scanPos + scanValue;
      break;
    default:
      return false; // groups: not in this schema
  }
  if (pos > b.length) return false;
  scanValue = Math.floor(tag / 8);
  scanPos = pos;
  return true;
}

/** Whether the serialized Message has at least one propagated_context entry (no allocation). */
export function hasPropagatedContext(message: Uint8Array): boolean {
  let pos = 0;
  while (pos < message.length) {
    if (!nextField(message, pos)) return false;
    if (scanValue === PROPAGATED_CONTEXT) return true;
    pos = scanPos;
  }
  return false;
}

function readEntry(bytes: Uint8Array, into: Record<string, string>): void {
  const r = new BinaryReader(bytes);
  let key = '';
  let value = '';
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) key = r.string();
    else if (no === 2 && wt === WireType.LengthDelimited) value = r.string();
    else r.skip(wt, no);
  }
  into[key] = value;
}

/** The propagated_context map (a later duplicate key wins, as in protobuf); empty when there is none. */
export function readPropagatedContext(message: Uint8Array): Record<string, string> {
  const carrier: Record<string, string> = Object.create(null) as Record<string, string>;
  decodeStep('Message', () => {
    const r = new BinaryReader(message);
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no === PROPAGATED_CONTEXT && wt === WireType.LengthDelimited) readEntry(r.bytes(), carrier);
      else r.skip(wt, no);
    }
  });
  return carrier;
}

/**
 * The message with its propagated_context replaced by `carrier`: the new entries take the place of the
 * first old one (or follow routing_labels when there was none), every other field is kept byte for byte.
 */
export function replacePropagatedContext(message: Uint8Array, carrier: Record<string, string>): Uint8Array {
  const kept: [number, number][] = [];
  let insertAt = -1;
  let afterLabels = 0;
  for (let pos = 0; pos < message.length; pos = scanPos) {
    if (!nextField(message, pos)) throw new Error('cannot rewrite a malformed Message');
    if (scanValue === PROPAGATED_CONTEXT) {
      if (insertAt < 0) insertAt = kept.length;
    } else {
      kept.push([pos, scanPos]);
      if (scanValue <= 2) afterLabels = kept.length;
    }
  }
  if (insertAt < 0) insertAt = afterLabels;
  const w = new BinaryWriter();
  for (const key of Object.keys(carrier).sort()) {
    w.tag(PROPAGATED_CONTEXT, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(key);
    w.tag(2, WireType.LengthDelimited).string(carrier[key]);
    w.join();
  }
  const entries = w.finish();
  let length = entries.length;
  for (const [s, e] of kept) length += e - s;
  const out = new Uint8Array(length);
  let pos = 0;
  kept.forEach(([s, e], i) => {
    if (i === insertAt) {
      out.set(entries, pos);
      pos += entries.length;
    }
    out.set(message.subarray(s, e), pos);
    pos += e - s;
  });
  if (insertAt >= kept.length) out.set(entries, pos);
  return out;
}
