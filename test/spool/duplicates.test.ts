// The server's duplicate filter, over real HTTP to a real server and sink: a Media named by a spooling
// client (x-media-gateway-message-ids) is forwarded once however often it is posted, on POST / and per item
// on POST /batch; the window is bounded and scoped; unnamed or badly named requests are forwarded as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { DuplicateFilter, WINDOW } from '../../src/server/duplicates.js';
import { formatMessageIds, MESSAGE_IDS_HEADER, parseMessageIds } from '../../src/spool/identity.js';
import { gatewayToRouter, nextMessage, post, PROTOBUF } from '../server/fixtures.js';
import { HttpSink } from '../helpers/http-sink.js';
import { clientSetup, runClient, sendNumbered, source } from '../client/fixtures.js';
import path from 'node:path';
import { metricsText, sample } from './harness.js';

const enc = new TextEncoder();
const INSTANCE = 'ab'.repeat(16);

function media(n: number): Uint8Array {
  return encodeMedia({
    topic: enc.encode('cam'),
    message: buildMessage({ content: 'video_frame', sourceId: 'cam' }),
    data: [enc.encode(String(n))],
  });
}

const named = (seqs: number[], instance = INSTANCE) => ({
  ...PROTOBUF,
  [MESSAGE_IDS_HEADER]: formatMessageIds(instance, seqs),
});

async function received(reader: Awaited<ReturnType<typeof gatewayToRouter>>['reader'], n: number) {
  const got: string[] = [];
  for (let i = 0; i < n; i++) got.push(Buffer.from((await nextMessage(reader)).data[0]).toString());
  return got;
}

test('message ids: ranges on the wire, and malformed or oversized headers are ignored', () => {
  assert.equal(formatMessageIds(INSTANCE, [1, 2, 3, 7, 9, 10]), `${INSTANCE}:1-3,7,9-10`);
  assert.deepEqual(parseMessageIds(`${INSTANCE}:1-3,7,9-10`, 100)?.seqs, [1, 2, 3, 7, 9, 10]);
  for (const bad of [
    'x:1',
    `${INSTANCE}:`,
    `${INSTANCE}:3-1`,
    `${INSTANCE}:a`,
    `${INSTANCE}1`,
    `${INSTANCE}:1,,2`,
  ])
    assert.equal(parseMessageIds(bad, 100), undefined, bad);
  assert.equal(parseMessageIds(`${INSTANCE}:1-1000000`, 65536), undefined, 'no huge expansion');
});

test('POST /: a named message posted twice reaches the sink once; both posts get 200', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const before = sample(await metricsText(server.port), 'media_gateway_duplicates_dropped_total');
  assert.equal((await post(server.url, media(1), named([41]))).status, 200);
  assert.equal((await post(server.url, media(1), named([41]))).status, 200);
  assert.equal((await post(server.url, media(2), named([42]))).status, 200);
  // another instance's seq 41 is another message
  assert.equal((await post(server.url, media(3), named([41], 'cd'.repeat(16)))).status, 200);
  // unnamed and badly named requests are forwarded every time, as by the original
  assert.equal((await post(server.url, media(4))).status, 200);
  assert.equal((await post(server.url, media(4))).status, 200);
  assert.equal(
    (await post(server.url, media(5), { ...PROTOBUF, [MESSAGE_IDS_HEADER]: 'garbage' })).status,
    200,
  );
  assert.deepEqual(await received(reader, 6), ['1', '2', '3', '4', '4', '5']);
  const after = sample(await metricsText(server.port), 'media_gateway_duplicates_dropped_total');
  assert.equal(after - before, 1);
});

test('POST /batch: items already forwarded are skipped, the rest forwarded, all accepted', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const batch = (ns: number[]) => encodeMediaBatch(ns.map(media));
  const first = await post(`${server.url}/batch`, batch([1, 2]), named([1, 2]));
  assert.deepEqual(JSON.parse(first.body.toString()), { accepted: 2, status: 200 });
  const again = await post(`${server.url}/batch`, batch([2, 3]), named([2, 3]));
  assert.deepEqual(JSON.parse(again.body.toString()), { accepted: 2, status: 200 });
  // a header naming a different number of items than the body holds is ignored
  const mismatch = await post(`${server.url}/batch`, batch([3]), named([3, 4]));
  assert.deepEqual(JSON.parse(mismatch.body.toString()), { accepted: 1, status: 200 });
  assert.deepEqual(await received(reader, 4), ['1', '2', '3', '3']);
});

test('a copy arriving while the original is being forwarded waits for it and is not forwarded', async () => {
  const filter = new DuplicateFilter();
  let forwards = 0;
  let release!: () => void;
  const slow = () => {
    forwards++;
    return new Promise<number>((resolve) => (release = () => resolve(200)));
  };
  const a = filter.forward('', INSTANCE, 7, slow);
  const b = filter.forward('', INSTANCE, 7, slow);
  release();
  assert.deepEqual(await Promise.all([a, b]), [200, 200]);
  assert.equal(forwards, 1);
});

test('only a 200 counts as forwarded; a failed forward is tried again', async () => {
  const filter = new DuplicateFilter();
  let forwards = 0;
  assert.equal(await filter.forward('', INSTANCE, 1, async () => (forwards++, 504)), 504);
  assert.equal(await filter.forward('', INSTANCE, 1, async () => (forwards++, 200)), 200);
  assert.equal(await filter.forward('', INSTANCE, 1, async () => (forwards++, 200)), 200);
  assert.equal(forwards, 2);
});

test('the window is bounded: a number older than WINDOW is forwarded again (at-least-once)', async () => {
  const filter = new DuplicateFilter();
  let forwards = 0;
  const ok = async () => (forwards++, 200);
  await filter.forward('', INSTANCE, 1, ok);
  await filter.forward('', INSTANCE, 2 + WINDOW, ok);
  await filter.forward('', INSTANCE, 1, ok);
  assert.equal(forwards, 3);
  await filter.forward('', INSTANCE, 2 + WINDOW, ok);
  assert.equal(forwards, 3, 'a recent one is still known');
});

test('instances are scoped by the authenticated user: one user cannot suppress another’s messages', async () => {
  const filter = new DuplicateFilter();
  let forwards = 0;
  const ok = async () => (forwards++, 200);
  await filter.forward('alice', INSTANCE, 5, ok);
  await filter.forward('mallory', INSTANCE, 5, ok);
  assert.equal(forwards, 2);
});

test('against a server without /batch (as the original) each POST / names its one message in a header', async (t) => {
  const http = await HttpSink.start({ batch: false });
  t.after(() => http.close());
  const setup = await clientSetup(t, http.url, { transport: { mode: 'auto' } });
  setup.cfg.spool = {
    dir: path.join(setup.dir, 'spool'),
    maxBytes: 64 * 1024 * 1024,
    whenFull: 'block',
    sync: 'periodic',
    syncIntervalMs: 1000,
    memoryBytes: 32 * 1024 * 1024,
  };
  await runClient(t, setup.cfg);
  const src = await source(t, 'dealer', setup.endpoint);
  for (let i = 0; i < 3; i++) await sendNumbered(src, 'cam', i);
  const items = await http.waitForAccepted(3);
  const ids = items.map((i) => parseMessageIds(i.headers[MESSAGE_IDS_HEADER], 10));
  assert.deepEqual(
    ids.map((id) => id?.seqs),
    [[1], [2], [3]],
  );
  assert.equal(new Set(ids.map((id) => id?.instance)).size, 1);
  assert.deepEqual(
    items.map((i) => Buffer.from(i.media.data[0]).toString()),
    ['0', '1', '2'],
  );
});
