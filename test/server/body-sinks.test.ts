// The body sinks of the server (src/server/body-sinks.ts): bodies and MediaBatch items rebuilt exactly
// whatever the chunking, each item's byte copied once into a buffer of its final size, anything unusual handed back
// whole for the decoder, and memory that only follows the bytes a peer has sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchItems, bodyBuffer, FIRST_BODY_CHUNK, type BodySink } from '../../src/server/body-sinks.js';
import { decodeMediaBatch, encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';

/** A deterministic byte pattern, different per call. */
let seed = 1;
function bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

function media(frame: number): Uint8Array {
  return encodeMedia({
    topic: Buffer.from('cam-1'),
    message: buildMessage({ content: 'video_frame', sourceId: 'cam-1' }),
    data: frame > 0 ? [bytes(frame)] : [],
  });
}

/** Feeds `body` to `sink` in chunks of the given sizes (cycled); returns what take() gives. */
function feed<T>(sink: BodySink<T>, body: Uint8Array, sizes: number[]): T {
  let pos = 0;
  for (let i = 0; pos < body.length; i++) {
    const n = Math.min(sizes[i % sizes.length], body.length - pos);
    sink.add(Buffer.from(body.subarray(pos, pos + n)));
    pos += n;
  }
  assert.equal(sink.length, body.length);
  return sink.take();
}

/** The sizes of every Buffer.allocUnsafe while `fn` runs (the sinks allocate with it and nothing else). */
function allocatedWhile(fn: () => void): number[] {
  const seen: number[] = [];
  const original = Buffer.allocUnsafe;
  Buffer.allocUnsafe = (size: number) => (seen.push(size), original(size));
  try {
    fn();
  } finally {
    Buffer.allocUnsafe = original;
  }
  return seen;
}

const CHUNKINGS = [[16384], [1], [7, 3, 65536], [1000, 1], [1 << 20]];

test('a body with a Content-Length comes back byte for byte, whatever the chunking', () => {
  for (const size of [0, 1, 100, FIRST_BODY_CHUNK, FIRST_BODY_CHUNK + 300, 1 << 20, 3 << 20]) {
    const body = bytes(size);
    for (const sizes of CHUNKINGS) assert.ok(feed(bodyBuffer(size), body, sizes).equals(body), `${size}`);
  }
});

test('a body without a Content-Length is joined once at the end', () => {
  const body = bytes(100_000);
  assert.ok(feed(bodyBuffer(undefined), body, [16384]).equals(body));
});

test('a 1 MiB batch item arriving in socket-sized chunks is copied once, into one buffer of its size', () => {
  const item = media(1 << 20);
  const body = encodeMediaBatch([item]);
  let got: ReturnType<ReturnType<typeof batchItems>['take']> | undefined;
  const seen = allocatedWhile(() => (got = feed(batchItems(body.length), body, [16384])));
  assert.deepEqual(seen, [item.length]);
  assert.ok(got && 'items' in got && got.items[0].equals(item));
});

test('a body that declares 64 MiB and sends 4 KiB gets 64 KiB; memory never runs ahead of twice what was sent', () => {
  const first = bytes(4096);
  let sink: BodySink<Buffer> | undefined;
  assert.deepEqual(
    allocatedWhile(() => (sink = bodyBuffer(64 << 20)).add(first)),
    [FIRST_BODY_CHUNK],
  );
  let sent = 4096;
  for (let i = 0; i < 256; i++) {
    const chunk = bytes(16384);
    const seen = allocatedWhile(() => sink!.add(chunk));
    sent += chunk.length;
    for (const size of seen) assert.ok(size <= 2 * sent, `${size} after ${sent}`);
  }
});

test('MediaBatch items come out as the decoder would cut them, each in its own buffer', () => {
  const items = [media(0), media(1), media(1000), media(70_000), media(1 << 20), media(10)];
  const body = encodeMediaBatch(items);
  const expected = decodeMediaBatch(body);
  for (const sizes of CHUNKINGS) {
    const got = feed(batchItems(body.length), body, sizes);
    assert.ok('items' in got, 'taken on the fast path');
    assert.equal(got.items.length, expected.length);
    got.items.forEach((item, i) => assert.ok(item.equals(expected[i]), `item ${i}, chunks ${sizes}`));
    // each large item owns its buffer: the body is not kept alive by any of them
    assert.equal(got.items[4].byteLength, got.items[4].buffer.byteLength);
  }
});

test('an empty batch and a batch of empty items', () => {
  assert.deepEqual(feed(batchItems(0), Buffer.alloc(0), [1]), { items: [] });
  const got = feed(batchItems(4), Buffer.from('0a000a00', 'hex'), [1]);
  assert.ok('items' in got);
  assert.deepEqual(
    got.items.map((i) => i.length),
    [0, 0],
  );
});

test('framing our client never writes is handed back whole, byte for byte, for the decoder', () => {
  const item = Buffer.from(media(3000));
  const cases: Record<string, Buffer> = {
    'another field first': Buffer.concat([Buffer.from('1001', 'hex'), encodeMediaBatch([item])]),
    'another field after an item': Buffer.concat([encodeMediaBatch([item]), Buffer.from('1001', 'hex')]),
    'a non-minimal length': Buffer.concat([Buffer.from('0a8100', 'hex'), Buffer.from([1])]),
    'an item longer than the body': Buffer.concat([Buffer.from('0a7f', 'hex'), bytes(10)]),
    'a body that ends inside a prefix': Buffer.concat([encodeMediaBatch([item]), Buffer.from('0a', 'hex')]),
    'a body that ends inside a length': Buffer.concat([encodeMediaBatch([item]), Buffer.from('0a80', 'hex')]),
    'an item field of the wrong wire type': Buffer.concat([
      encodeMediaBatch([item]),
      Buffer.from('0801', 'hex'),
    ]),
  };
  for (const [what, body] of Object.entries(cases)) {
    for (const sizes of [[1], [5], [body.length]]) {
      const got = feed(batchItems(body.length), body, sizes);
      assert.ok('body' in got, what);
      assert.ok(got.body.equals(body), `${what}, chunks ${sizes}`);
    }
  }
});

test('a batch item that declares 8 MiB and sends 4 KiB gets no buffer', () => {
  const small = encodeMediaBatch([media(100)]);
  const large = Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x04]), bytes(8 << 20)]);
  const body = Buffer.concat([small, large]);
  const sink = batchItems(body.length);
  const head = body.subarray(0, small.length + 5 + 4096);
  assert.deepEqual(
    allocatedWhile(() => sink.add(head)).filter((n) => n >= 4096),
    [],
  );
  sink.add(body.subarray(head.length));
  const got = sink.take();
  assert.ok('items' in got && got.items[1].equals(large.subarray(5)));
});

test('later items of a batch that has sent more than an item are allocated whole at once', () => {
  const items = [media(1 << 20), media(1 << 20), media(1 << 20)];
  const body = encodeMediaBatch(items);
  const seen = allocatedWhile(() => feed(batchItems(body.length), body, [16384]));
  assert.deepEqual(
    seen.filter((n) => n >= FIRST_BODY_CHUNK),
    items.map((i) => i.length),
  );
});
