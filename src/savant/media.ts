// The HTTP body between gateway client and server: MediaGateway's `Media` protobuf (fields
// message = 1, topic = 2, data = 3 repeated bytes), plus our batch extension `MediaBatch { repeated Media
// items = 1; }`. Decoding returns subarrays of the input so message and frame bytes are never copied.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { decodeStep, expectWireType } from './message.js';
import { checkFieldBudget, type FieldBudget } from './field-scan.js';

export interface Media {
  /** serialized protocol.Message; undefined when the field is absent */
  message?: Uint8Array;
  topic: Uint8Array;
  data: Uint8Array[];
}

// Encoding knows every length up front, so a body is written in one pass into buffers of their exact size
// (a growing writer would copy frame bytes again on every resize and at the end). For the HTTP body the
// client does not even copy large fields: encodeMediaChunks() references them, and the socket writes the
// chunks in order.
/** Tag bytes of the length-delimited fields (field number << 3 | 2); all field numbers here are < 16. */
const MEDIA_MESSAGE_TAG = (1 << 3) | WireType.LengthDelimited;
const MEDIA_TOPIC_TAG = (2 << 3) | WireType.LengthDelimited;
const MEDIA_DATA_TAG = (3 << 3) | WireType.LengthDelimited;
export const BATCH_ITEM_TAG = (1 << 3) | WireType.LengthDelimited;

/** Fields at least this large are referenced by encodeMediaChunks(), smaller ones are copied. */
export const CHUNK_REFERENCE_BYTES = 16 * 1024;

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

/** Calls `fn` for each field of `m` in encoding order. */
function forEachField(m: Media, fn: (tag: number, value: Uint8Array) => void): void {
  if (m.message !== undefined) fn(MEDIA_MESSAGE_TAG, m.message);
  // proto3 bytes: the default (empty) value is not written
  if (m.topic.length > 0) fn(MEDIA_TOPIC_TAG, m.topic);
  for (const d of m.data) fn(MEDIA_DATA_TAG, d);
}

/** The length of `m` encoded as a Media message. */
export function encodedMediaLength(m: Media): number {
  let size = 0;
  forEachField(m, (_tag, value) => (size += fieldSize(value.length)));
  return size;
}

/** An uninitialised Uint8Array (every byte is written before use); small sizes come from Node's pool. */
function allocate(size: number): Uint8Array {
  const b = Buffer.allocUnsafe(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

/** Writes a field's one-byte tag and its length (a varint) at `pos` of `out`; the position after them. */
function writeFieldHeader(out: Uint8Array, pos: number, tag: number, length: number): number {
  out[pos++] = tag;
  while (length >= 0x80) {
    out[pos++] = (length & 0x7f) | 0x80;
    length = Math.floor(length / 128);
  }
  out[pos++] = length;
  return pos;
}

/** A field's one-byte tag and length as bytes of their own (the server rebuilds item prefixes with it). */
export function fieldHeader(tag: number, length: number): Uint8Array {
  const out = new Uint8Array(1 + varintSize(length));
  writeFieldHeader(out, 0, tag, length);
  return out;
}

/** Writes tags, lengths and copied values into `out`; values of `reference` bytes or more become chunks of their own. */
class ChunkWriter {
  readonly chunks: Uint8Array[] = [];
  private pos = 0;
  private start = 0;

  constructor(
    private readonly out: Uint8Array,
    private readonly reference: number,
  ) {}

  header(tag: number, length: number): void {
    this.pos = writeFieldHeader(this.out, this.pos, tag, length);
  }

  value(v: Uint8Array): void {
    if (v.length >= this.reference) {
      this.flush();
      this.chunks.push(v);
    } else {
      this.out.set(v, this.pos);
      this.pos += v.length;
    }
  }

  field(tag: number, v: Uint8Array): void {
    this.header(tag, v.length);
    this.value(v);
  }

  flush(): void {
    if (this.pos > this.start) this.chunks.push(this.out.subarray(this.start, this.pos));
    this.start = this.pos;
  }
}

export function encodeMedia(m: Media): Uint8Array {
  const out = allocate(encodedMediaLength(m));
  const w = new ChunkWriter(out, Number.POSITIVE_INFINITY);
  forEachField(m, (tag, value) => w.field(tag, value));
  return out;
}

/** An HTTP body as chunks to write in order; `length` is their total. */
export interface ChunkedBody {
  chunks: Uint8Array[];
  length: number;
}

/**
 * The body of one Media (`batch` false, exactly one item) or of a MediaBatch of `items`, as chunks:
 * framing and fields under CHUNK_REFERENCE_BYTES are copied into one shared buffer, larger fields (video
 * frames) are referenced, so their bytes reach the socket without a copy.
 */
export function encodeMediaChunks(items: Media[], batch: boolean): ChunkedBody {
  if (!batch && items.length !== 1) throw new RangeError('a Media body has exactly one item');
  const itemLengths = items.map(encodedMediaLength);
  let length = 0;
  let referenced = 0;
  items.forEach((m, i) => {
    if (batch) length += fieldSize(itemLengths[i]);
    else length += itemLengths[i];
    forEachField(m, (_tag, value) => {
      if (value.length >= CHUNK_REFERENCE_BYTES) referenced += value.length;
    });
  });
  const w = new ChunkWriter(allocate(length - referenced), CHUNK_REFERENCE_BYTES);
  items.forEach((m, i) => {
    if (batch) w.header(BATCH_ITEM_TAG, itemLengths[i]);
    forEachField(m, (tag, value) => w.field(tag, value));
  });
  w.flush();
  return { chunks: w.chunks, length };
}

/** Bounds on a body from an untrusted peer, checked by a scan before any field is decoded. */
export interface MediaLimits {
  /** most `data` fields (extra frames) of one Media */
  maxExtraFrames: number;
  /** most items of one MediaBatch */
  maxBatchItems: number;
  /** most occurrences of all other top-level fields together (message/topic repeats, unknown fields) */
  maxOtherFields: number;
}

export function mediaBudget(limits: MediaLimits): FieldBudget {
  return {
    fields: new Map([[3, { max: limits.maxExtraFrames, limit: 'extra_frames' }]]),
    other: { max: limits.maxOtherFields, limit: 'other_fields' },
  };
}

export function batchBudget(limits: MediaLimits): FieldBudget {
  return {
    fields: new Map([[1, { max: limits.maxBatchItems, limit: 'batch_items' }]]),
    other: { max: limits.maxOtherFields, limit: 'other_fields' },
  };
}

/** Decodes a Media; with `limits`, a body over them throws DecodeLimitError before anything is built. */
export function decodeMedia(b: Uint8Array, limits?: MediaLimits): Media {
  if (limits) checkFieldBudget(b, 'Media', mediaBudget(limits));
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
  const w = new ChunkWriter(out, Number.POSITIVE_INFINITY);
  for (const item of encodedItems) w.field(BATCH_ITEM_TAG, item);
  return out;
}

/** The encoded Media items of a MediaBatch body (subarrays of `b`; decode each with decodeMedia). */
export function decodeMediaBatch(b: Uint8Array, limits?: MediaLimits): Uint8Array[] {
  if (limits) checkFieldBudget(b, 'MediaBatch', batchBudget(limits));
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
