// The HTTP body between gateway client and server: MediaGateway's `Media` protobuf (savant-wire.md §8.1:
// message = 1, topic = 2, data = 3 repeated bytes), plus our batch extension `MediaBatch { repeated Media
// items = 1; }`. Decoding returns subarrays of the input so message and frame bytes are never copied.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeStep, expectWireType } from './message.js';

export interface Media {
  /** serialized protocol.Message; undefined when the field is absent */
  message?: Uint8Array;
  topic: Uint8Array;
  data: Uint8Array[];
}

export function encodeMedia(m: Media): Uint8Array {
  const w = new BinaryWriter();
  if (m.message !== undefined) w.tag(1, WireType.LengthDelimited).bytes(m.message);
  // proto3 bytes: the default (empty) value is not written
  if (m.topic.length > 0) w.tag(2, WireType.LengthDelimited).bytes(m.topic);
  for (const d of m.data) w.tag(3, WireType.LengthDelimited).bytes(d);
  return w.finish();
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
  const w = new BinaryWriter();
  for (const item of encodedItems) w.tag(1, WireType.LengthDelimited).bytes(item);
  return w.finish();
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
