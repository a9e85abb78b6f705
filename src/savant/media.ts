// The HTTP body between gateway client and server: MediaGateway's `Media` protobuf (savant-wire.md §8.1:
// message = 1, topic = 2, data = 3 repeated bytes), plus our batch extension `MediaBatch { repeated Media
// items = 1; }`. Decoding returns subarrays of the input so message and frame bytes are never copied.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { decodeStep, expectWireType } from './message.js';

export interface Media {
  /** serialized protocol.Message; undefined when the field is absent */
  message?: Uint8Array;
  topic: Uint8Array;
  data: Uint8Array[];
}

// Encoding writes each body into one buffer of its exact size (lengths are known up front), so frame
// bytes are copied once; a growing writer would copy them again on every resize and at the end.
/** Tag bytes of the length-delimited fields (field number << 3 | 2); all field numbers here are < 16. */
const MEDIA_MESSAGE_TAG = (1 << 3) | WireType.LengthDelimited;
const MEDIA_TOPIC_TAG = (2 << 3) | WireType.LengthDelimited;
const MEDIA_DATA_TAG = (3 << 3) | WireType.LengthDelimited;
const BATCH_ITEM_TAG = (1 << 3) | WireType.LengthDelimited;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Encoded size of a length-delimited field with a one-byte tag. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

function writeField(out: Uint8Array, pos: number, tag: number, value: Uint8Array): number {
  out[pos++] = tag;
  let n = value.length;
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  out.set(value, pos);
  return pos + value.length;
}

/** An uninitialised Uint8Array (every byte is written before use); small sizes come from Node's pool. */
function allocate(size: number): Uint8Array {
  const b = Buffer.allocUnsafe(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

export function encodeMedia(m: Media): Uint8Array {
  let size = 0;
  if (m.message !== undefined) size += fieldSize(m.message.length);
  // proto3 bytes: the default (empty) value is not written
  if (m.topic.length > 0) size += fieldSize(m.topic.length);
  for (const d of m.data) size += fieldSize(d.length);
  const out = allocate(size);
  let pos = 0;
  if (m.message !== undefined) pos = writeField(out, pos, MEDIA_MESSAGE_TAG, m.message);
  if (m.topic.length > 0) pos = writeField(out, pos, MEDIA_TOPIC_TAG, m.topic);
  for (const d of m.data) pos = writeField(out, pos, MEDIA_DATA_TAG, d);
  return out;
}

export function decodeMedia(b: Uint8Array): Media {
  return decodeStep('Media', () => {
    const r = new BinaryReader(b);
    const media: Media = { topic: new Uint8Array(), data: [] };
    const messageParts: Uint8Array[] = [];
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no >= 1 && no <= 3) {
        expectWireType('Media', no, wt, WireType.LengthDelimited);
        const v = r.bytes();
        if (no === 1) messageParts.push(v);
        else if (no === 2) media.topic = v;
        else media.data.push(v);
      } else {
        r.skip(wt, no);
      }
    }
    // protobuf merges repeated occurrences of a sub-message, which for its encoding is concatenation
    if (messageParts.length === 1) media.message = messageParts[0];
    else if (messageParts.length > 1) media.message = Buffer.concat(messageParts);
    return media;
  });
}

/** Wraps already encoded Media items into a MediaBatch body. */
export function encodeMediaBatch(encodedItems: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const item of encodedItems) size += fieldSize(item.length);
  const out = allocate(size);
  let pos = 0;
  for (const item of encodedItems) pos = writeField(out, pos, BATCH_ITEM_TAG, item);
  return out;
}

/** The encoded Media items of a MediaBatch body (subarrays of `b`; decode each with decodeMedia). */
export function decodeMediaBatch(b: Uint8Array): Uint8Array[] {
  return decodeStep('MediaBatch', () => {
    const r = new BinaryReader(b);
    const items: Uint8Array[] = [];
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no === 1) {
        expectWireType('MediaBatch', no, wt, WireType.LengthDelimited);
        items.push(r.bytes());
      } else {
        r.skip(wt, no);
      }
    }
    return items;
  });
}
