// Bounded decoding: bodies made of millions of empty fields (the red-team reproductions `1a 00` and
// `0a 00` repeated) are refused with 413 after a scan, counted by limit, and nothing reaches the sink;
// bodies at the limits still pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMessage, inspectMessage, MessageDecodeError } from '../../src/savant/message.js';
import {
  decodeMedia,
  decodeMediaBatch,
  encodeMedia,
  encodeMediaBatch,
  fieldHeader,
} from '../../src/savant/media.js';
import { checkFieldBudget, DecodeLimitError, FieldScanner } from '../../src/savant/field-scan.js';
import { rawConnect, receivedMatching } from './raw.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/limits.js';
import { gatewayToRouter, nextMessage, post } from '../server/fixtures.js';
import { delta, scrape } from '../metrics/prom.js';

const enc = new TextEncoder();
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const LIMITS = DEFAULT_SERVER_LIMITS;
const REFUSALS = 'media_gateway_decode_limit_refusals_total';

/** `pattern` repeated to `bytes` bytes: the crafted bodies of the reproductions. */
function repeated(pattern: string, bytes: number): Buffer {
  return Buffer.alloc(bytes, hex(pattern));
}

/**
 * Pushes `body` to a FieldScanner in two chunks, cut at every `step`-th offset: with a budget of 3 it is
 * accepted, with a budget of 2 refused with `refusal`, wherever the cut falls.
 */
function assertVerdictOnSplits(
  body: Buffer,
  budget: (max: number) => ConstructorParameters<typeof FieldScanner>[1],
  step: number,
  refusal: assert.AssertPredicate,
): void {
  for (let split = 1; split < body.length; split += step) {
    for (const [max, refused] of [
      [3, false],
      [2, true],
    ] as const) {
      const s = new FieldScanner('Media', budget(max));
      const run = () => {
        s.push(body.subarray(0, split));
        s.push(body.subarray(split));
      };
      if (refused) assert.throws(run, refusal, `split at ${split}`);
      else assert.doesNotThrow(run, `split at ${split}`);
    }
  }
}

function frame(data: Uint8Array[] = [], labels: string[] = []): Uint8Array {
  return encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1', routingLabels: labels }),
    topic: enc.encode('cam1'),
    data,
  });
}

test('POST / of `1a 00` repeated (4 MiB of empty data fields): 413, counted, nothing forwarded', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const before = await scrape(server.url + '/metrics');
  const res = await post(server.url, repeated('1a 00', 4 * 1024 * 1024));
  assert.equal(res.status, 413);
  const after = await scrape(server.url + '/metrics');
  assert.equal(delta(before, after, REFUSALS, { limit: 'extra_frames' }), 1);
  // the sink gets the next good message first: the crafted one never reached it
  const got = nextMessage(reader);
  assert.equal((await post(server.url, frame([hex('01')]))).status, 200);
  assert.equal((await got).data.length, 1);
});

test('POST /batch of `0a 00` repeated (4 MiB of empty items): 413, counted', async (t) => {
  const { server } = await gatewayToRouter(t);
  const before = await scrape(server.url + '/metrics');
  const res = await post(server.url + '/batch', repeated('0a 00', 4 * 1024 * 1024));
  assert.equal(res.status, 413);
  const after = await scrape(server.url + '/metrics');
  assert.equal(delta(before, after, REFUSALS, { limit: 'batch_items' }), 1);
});

test('a Media with exactly max_extra_frames frames is forwarded, one more is 413', async (t) => {
  const limits = { ...LIMITS, maxExtraFrames: 3 };
  const { server, reader } = await gatewayToRouter(t, { limits });
  const got = nextMessage(reader);
  assert.equal((await post(server.url, frame([hex('01'), hex('02'), hex('03')]))).status, 200);
  assert.equal((await got).data.length, 3);
  assert.equal((await post(server.url, frame([hex('01'), hex('02'), hex('03'), hex('04')]))).status, 413);
});

test('a batch over max_batch_items is 413 as a whole; at the limit every item is forwarded', async (t) => {
  const limits = { ...LIMITS, maxBatchItems: 2 };
  const { server, reader } = await gatewayToRouter(t, { limits });
  const ok = await post(server.url + '/batch', encodeMediaBatch([frame(), frame()]));
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body.toString()), { accepted: 2, status: 200 });
  await nextMessage(reader);
  await nextMessage(reader);
  const over = await post(server.url + '/batch', encodeMediaBatch([frame(), frame(), frame()]));
  assert.equal(over.status, 413);
});

test('a message over max_routing_labels is 413, counted under routing_labels', async (t) => {
  const limits = { ...LIMITS, maxRoutingLabels: 2 };
  const { server } = await gatewayToRouter(t, { limits });
  const before = await scrape(server.url + '/metrics');
  assert.equal((await post(server.url, frame([], ['a', 'b', 'c']))).status, 413);
  const after = await scrape(server.url + '/metrics');
  assert.equal(delta(before, after, REFUSALS, { limit: 'routing_labels' }), 1);
});

test('a batch item over a limit ends the batch with 413 for that item', async (t) => {
  const limits = { ...LIMITS, maxExtraFrames: 1 };
  const { server, reader } = await gatewayToRouter(t, { limits });
  const res = await post(
    server.url + '/batch',
    encodeMediaBatch([frame([hex('01')]), frame([hex('01'), hex('02')])]),
  );
  assert.deepEqual(JSON.parse(res.body.toString()), { accepted: 1, status: 413 });
  await nextMessage(reader);
});

test('repeats of other fields (message, topic, unknown) count against max_other_fields', () => {
  const limits = { ...LIMITS, maxOtherFields: 4 };
  assert.throws(() => decodeMedia(repeated('12 00', 10), limits), DecodeLimitError);
  assert.throws(() => decodeMedia(repeated('0a 00', 10), limits), DecodeLimitError);
  assert.throws(() => decodeMediaBatch(repeated('10 01', 10), limits), DecodeLimitError);
  assert.throws(() => inspectMessage(repeated('4a 00', 10), limits), DecodeLimitError);
  assert.equal(decodeMedia(repeated('12 00', 8), limits).topic.length, 0);
});

test('the budget scan counts only top-level fields (groups skip what they enclose)', () => {
  const budget = { fields: new Map(), other: { max: 2, limit: 'other_fields' } };
  // field 5 start-group, three varint fields inside, end-group, then one more field: 2 top-level fields
  checkFieldBudget(hex('2b 08 01 08 01 08 01 2c 08 01'), 'X', budget);
  assert.throws(() => checkFieldBudget(hex('08 01 08 01 08 01'), 'X', budget), DecodeLimitError);
});

test('DecodeLimitError is a MessageDecodeError with a stable code and the limit it hit', () => {
  try {
    decodeMedia(repeated('1a 00', 200), LIMITS);
    assert.fail('expected a refusal');
  } catch (err) {
    assert.ok(err instanceof MessageDecodeError);
    assert.ok(err instanceof DecodeLimitError);
    assert.equal(err.code, 'decode_limit');
    assert.equal(err.limit, 'extra_frames');
    assert.equal(err.max, LIMITS.maxExtraFrames);
  }
});

test('malformed bodies are still 400 (the scan leaves structure errors to the decoder)', () => {
  assert.throws(
    () => decodeMedia(hex('1a 05 01'), LIMITS),
    (e: unknown) => e instanceof MessageDecodeError && !(e instanceof DecodeLimitError),
  );
});

test('repeated end_of_stream parts are merged in one join (linear): the last source id wins', () => {
  // end_of_stream (field 9) twice: the parts merge, and for a scalar field the last value wins
  const info = inspectMessage(hex('4a 04 0a 02 63 61 4a 04 0a 02 6d 31'));
  assert.equal(info.content, 'end_of_stream');
  assert.equal(info.eosSourceId, 'm1');
  const many = Buffer.concat(Array.from({ length: 50_000 }, () => hex('4a 02 10 01')));
  assert.equal(inspectMessage(many).content, 'end_of_stream');
});

test('the scan runs as the body arrives: a 64 MiB upload of `1a 00` is answered 413 after its first 64 KiB', async (t) => {
  const { server } = await gatewayToRouter(t);
  const peer = await rawConnect(server.port);
  peer.socket.write(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/protobuf\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
  );
  peer.socket.write(repeated('1a 00', 64 * 1024));
  assert.match(await receivedMatching(peer, /^HTTP\/1\.1 \d{3}/), /^HTTP\/1\.1 413/);
  peer.socket.destroy();
});

test('the scan runs as a batch arrives (items split as they come): a 64 MiB upload of `0a 00` to /batch is answered 413 after its first 64 KiB', async (t) => {
  const { server } = await gatewayToRouter(t);
  const peer = await rawConnect(server.port);
  peer.socket.write(
    `POST /batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/protobuf\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
  );
  peer.socket.write(repeated('0a 00', 64 * 1024));
  assert.match(await receivedMatching(peer, /^HTTP\/1\.1 \d{3}/), /^HTTP\/1\.1 413/);
  peer.socket.destroy();
});

test('the scan reaches into the message as the body arrives: a 64 MiB Media whose message is `12 00` repeated is answered 413 after its first 64 KiB', async (t) => {
  const { server } = await gatewayToRouter(t);
  const before = await scrape(server.url + '/metrics');
  const peer = await rawConnect(server.port);
  const messageLength = 64 * 1024 * 1024 - 6;
  peer.socket.write(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/protobuf\r\nContent-Length: ${messageLength + 6}\r\n\r\n`,
  );
  // field 1 (message, tag 0a) whose length spans the whole body, then empty routing labels
  peer.socket.write(
    Buffer.concat([Buffer.from(fieldHeader(0x0a, messageLength)), repeated('12 00', 64 * 1024)]),
  );
  assert.match(await receivedMatching(peer, /^HTTP\/1\.1 \d{3}/), /^HTTP\/1\.1 413/);
  peer.socket.destroy();
  const after = await scrape(server.url + '/metrics');
  assert.equal(delta(before, after, REFUSALS, { limit: 'routing_labels' }), 1);
});

test('a batch item is scanned as it arrives: after a good item, a 64 MiB item of `1a 00` gets {accepted: 1, status: 413} after its first 64 KiB, the good item forwarded', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const before = await scrape(server.url + '/metrics');
  const good = Buffer.from(frame([hex('01')]));
  const crafted = 64 * 1024 * 1024 - 1024; // the whole body within max_body_size (64 MiB)
  const head = Buffer.concat([
    Buffer.from(fieldHeader(0x0a, good.length)),
    good,
    Buffer.from(fieldHeader(0x0a, crafted)),
  ]);
  const peer = await rawConnect(server.port);
  peer.socket.write(
    `POST /batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/protobuf\r\nContent-Length: ${head.length + crafted}\r\n\r\n`,
  );
  const got = nextMessage(reader);
  peer.socket.write(Buffer.concat([head, repeated('1a 00', 64 * 1024)]));
  const answer = await receivedMatching(peer, /\{[^}]*\}/);
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /Connection: close/i);
  assert.deepEqual(JSON.parse(/\{[^}]*\}/.exec(answer)![0]), { accepted: 1, status: 413 });
  assert.equal((await got).data.length, 1);
  peer.socket.destroy();
  const after = await scrape(server.url + '/metrics');
  assert.equal(delta(before, after, REFUSALS, { limit: 'extra_frames' }), 1);
});

test('a nested budget: the inner fields are counted on any split of the body; an empty or other field is skipped', () => {
  const message = (labels: number) =>
    buildMessage({
      content: 'video_frame',
      sourceId: 'cam1',
      routingLabels: Array.from({ length: labels }, (_, i) => `l${i}`),
    });
  const budget = (max: number) => ({
    fields: new Map([[3, { max: 8, limit: 'extra_frames' }]]),
    other: { max: 8, limit: 'other_fields' },
    nested: new Map([
      [
        1,
        {
          what: 'Message',
          budget: {
            fields: new Map([[2, { max, limit: 'routing_labels' }]]),
            other: { max: 8, limit: 'other_fields' },
          },
        },
      ],
    ]),
  });
  // a topic (field 2) of label-like bytes and empty data frames are not scanned as a message
  const body = Buffer.from(
    encodeMedia({ message: message(3), topic: hex('12 00 12 00 12 00 12 00'), data: [new Uint8Array(0)] }),
  );
  assertVerdictOnSplits(
    body,
    budget,
    1,
    (e: unknown) => e instanceof DecodeLimitError && e.limit === 'routing_labels',
  );
});

test('FieldScanner gives the same verdict on any split of the body into chunks', () => {
  const body = Buffer.from(frame([hex('01'), hex('02'), Buffer.alloc(300, 7)]));
  const budget = (max: number) => ({
    fields: new Map([[3, { max, limit: 'extra_frames' }]]),
    other: { max: 8, limit: 'other_fields' },
  });
  assertVerdictOnSplits(body, budget, 7, DecodeLimitError);
});
