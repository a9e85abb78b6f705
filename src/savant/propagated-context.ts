// Message.propagated_context (field 3, map<string, string>: the OpenTelemetry text-map carrier Savant
// modules inject their trace context into). hasPropagatedContext() is the cheap test run on every message
// while tracing is on: one pass over the top-level tags and lengths, no allocation, so untraced messages
// cost next to nothing. Reading and rewriting the map happen only for messages that have one; a rewrite
// keeps every other field byte for byte and puts the new map where the old one was.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeStep } from './message.js';

const PROPAGATED_CONTEXT = 3;

/** Reads a varint at `pos`; returns [value, next position], or [-1, -1] when malformed or truncated. */
function varint(b: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos < b.length; i++) {
    const byte = b[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
  return [-1, -1];
}

/** Calls `fn(fieldNo, start, end)` per top-level field; false when the bytes are malformed. */
function scanFields(b: Uint8Array, fn: (fieldNo: number, start: number, end: number) => boolean): boolean {
  let pos = 0;
  while (pos < b.length) {
    const start = pos;
    const [tag, afterTag] = varint(b, pos);
    if (afterTag < 0) return false;
    pos = afterTag;
    switch (tag & 7) {
      case WireType.Varint: {
        const [, next] = varint(b, pos);
        if (next < 0) return false;
        pos = next;
        break;
      }
      case WireType.Bit64:
        pos += 8;
        break;
      case WireType.Bit32:
        pos += 4;
        break;
      case WireType.LengthDelimited: {
        const [length, next] = varint(b, pos);
        if (next < 0) return false;
        pos = next + length;
        break;
      }
      default:
        return false; // groups: not in this schema
    }
    if (pos > b.length) return false;
    if (!fn(Math.floor(tag / 8), start, pos)) return true;
  }
  return true;
}

/** Whether the serialized Message has at least one propagated_context entry (no allocation). */
export function hasPropagatedContext(message: Uint8Array): boolean {
  let found = false;
  scanFields(message, (no) => {
    if (no === PROPAGATED_CONTEXT) found = true;
    return !found;
  });
  return found;
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
  const ok = scanFields(message, (no, start, end) => {
    if (no === PROPAGATED_CONTEXT) {
      if (insertAt < 0) insertAt = kept.length;
    } else {
      kept.push([start, end]);
      if (no <= 2) afterLabels = kept.length;
    }
    return true;
  });
  if (!ok) throw new Error('cannot rewrite a malformed Message');
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

/** Adds propagated_context entries to a message built by buildMessage() (tests, demo, benchmark). */
export function withPropagatedContext(message: Uint8Array, carrier: Record<string, string>): Uint8Array {
  return replacePropagatedContext(message, carrier);
}
