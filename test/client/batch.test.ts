// Batch transport and lanes: POST /batch with partial acceptance, bisecting a refused request, the automatic
// fallback to POST / against a server without /batch, and per-topic order across parallel lanes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { HttpSink, type HttpSinkOptions } from '../helpers/http-sink.js';
import { laneOf } from '../../src/client/lanes.js';
import { clientSetup, gate, range, runClient, sendNumbered, seqOf, source, waitUntil } from './fixtures.js';

async function sink(t: { after(fn: () => unknown): void }, opts: HttpSinkOptions = {}) {
  const s = await HttpSink.start(opts);
  t.after(() => s.close());
  return s;
}

test('batch: queued messages travel together in POST /batch, in order', async (t) => {
  const first = gate();
  const http = await sink(t, { respond: async (_i, seen) => (seen === 0 && (await first.wait()), 200) });
  const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode: 'batch' } });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(20)) await sendNumbered(dealer, 'cam1', seq);
  // the first request is held until everything was read, so the rest queues up behind it
  await waitUntil(() => client.stats().read === 20, 'all read');
  first.open();
  assert.deepEqual((await http.waitForAccepted(20)).map(seqOf), range(20));
  assert.ok(http.requests.every((r) => r.path === '/batch'));
  assert.ok(
    http.requests.some((r) => r.items > 1),
    'several messages in one request',
  );
  assert.ok(http.requests.length < 20);
});

test('batch: maxBatchMessages bounds a request', async (t) => {
  const first = gate();
  const http = await sink(t, { respond: async (_i, seen) => (seen === 0 && (await first.wait()), 200) });
  const { cfg, endpoint } = await clientSetup(t, http.url, {
    transport: { mode: 'batch', maxBatchMessages: 3 },
  });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(10)) await sendNumbered(dealer, 'cam1', seq);
  await waitUntil(() => client.stats().read === 10, 'all read');
  first.open();
  assert.deepEqual((await http.waitForAccepted(10)).map(seqOf), range(10));
  assert.ok(http.requests.every((r) => r.items <= 3));
});

test('batch: only the accepted prefix is done; the rest is retried from the first refused item', async (t) => {
  const first = gate();
  let refusedOnce = false;
  const http = await sink(t, {
    respond: async (item, seen) => {
      if (seen === 0) await first.wait();
      if (seqOf(item) === '5' && !refusedOnce) {
        refusedOnce = true;
        return 503;
      }
      return 200;
    },
  });
  const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode: 'batch' } });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(12)) await sendNumbered(dealer, 'cam1', seq);
  await waitUntil(() => client.stats().read === 12, 'all read');
  first.open();
  assert.deepEqual((await http.waitForAccepted(12)).map(seqOf), range(12), 'no gap, no duplicate');
  assert.ok(refusedOnce);
  assert.equal(client.stats().retries, 1);
});

test('batch: an item answered 400 is dead-lettered and the rest goes on', async (t) => {
  const http = await sink(t, { respond: (item) => (item.topic === 'bad' ? 400 : 200) });
  const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode: 'batch' } });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(6)) await sendNumbered(dealer, seq === '2' ? 'bad' : 'cam1', seq);
  assert.deepEqual((await http.waitForAccepted(5)).map(seqOf), ['0', '1', '3', '4', '5']);
  await waitUntil(() => client.stats().deadLettered === 1, 'dead letter');
  assert.equal((await readdir(cfg.deadLetterDir)).filter((f) => f.endsWith('-400.media')).length, 1);
});

test('batch: a request refused as a whole (413) is split until it passes', async (t) => {
  const first = gate();
  const http = await sink(t, {
    requestStatus: (r) => (r.items > 3 ? 413 : undefined),
    respond: async (_i, seen) => (seen === 0 && (await first.wait()), 200),
  });
  const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode: 'batch' } });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(16)) await sendNumbered(dealer, 'cam1', seq);
  await waitUntil(() => client.stats().read === 16, 'all read');
  first.open();
  assert.deepEqual((await http.waitForAccepted(16)).map(seqOf), range(16));
  assert.ok(http.requests.some((r) => r.status === 413));
  assert.equal(client.stats().deadLettered, 0);
});

test('auto: a server without /batch (404) gets one message per POST /, for good', async (t) => {
  const http = await sink(t, { batch: false });
  const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode: 'auto' } });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(10)) await sendNumbered(dealer, 'cam1', seq);
  assert.deepEqual((await http.waitForAccepted(10)).map(seqOf), range(10));
  assert.equal(http.requests.filter((r) => r.path === '/batch').length, 1);
  assert.ok(http.accepted.every((i) => i.path === '/'));
  assert.equal(client.stats().retries, 0);
});

test('batch mode without /batch on the server retries (never silently changes the wire form)', async (t) => {
  const http = await sink(t, { batch: false });
  const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode: 'batch' } });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  await sendNumbered(dealer, 'cam1', 0);
  await waitUntil(() => client.stats().retries >= 2, 'retries');
  assert.equal(http.accepted.length, 0);
  assert.ok(http.requests.every((r) => r.path === '/batch' && r.status === 404));
});

test('lanes: topics proceed in parallel and each keeps its order', async (t) => {
  const topics = ['cam-a', 'cam-b', 'cam-c', 'cam-d', 'cam-e', 'cam-f'];
  const lanesUsed = new Set(topics.map((tp) => laneOf(Buffer.from(tp), 4)));
  assert.ok(lanesUsed.size >= 2, 'the test topics spread over several lanes');
  const ref: { http?: HttpSink } = {};
  const http = await sink(t, {
    // the first request is answered only once a second one runs beside it
    respond: async (_i, seen) => {
      if (seen === 0) await ref.http!.waitFor(() => ref.http!.inflight >= 2, 'a parallel request');
      return 200;
    },
  });
  ref.http = http;
  for (const mode of ['single', 'batch'] as const) {
    http.accepted.length = 0;
    http.seen.length = 0;
    http.maxInflight = 0;
    const { cfg, endpoint } = await clientSetup(t, http.url, { transport: { mode, lanes: 4 } });
    await runClient(t, cfg);
    const dealer = await source(t, 'dealer', endpoint);
    for (const seq of range(10)) for (const tp of topics) await sendNumbered(dealer, tp, seq);
    const got = await http.waitForAccepted(60);
    for (const tp of topics) {
      assert.deepEqual(got.filter((i) => i.topic === tp).map(seqOf), range(10), `${mode}: order of ${tp}`);
    }
    assert.ok(http.maxInflight >= 2, `${mode}: lanes ran in parallel`);
  }
});
