// The client end to end over real sockets: a Savant source (SavantWriter) → the client's reader → real HTTP
// to a scripted receiver (test/helpers/http-sink.ts). Single-message mode, one lane: the original's wire form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HttpSink } from '../helpers/http-sink.js';
import { freePort } from '../helpers/net.js';
import { decodeMedia } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { clientSetup, gate, range, runClient, sendNumbered, seqOf, source, waitUntil } from './fixtures.js';

async function sink(t: { after(fn: () => unknown): void }, opts: Parameters<typeof HttpSink.start>[0] = {}) {
  const s = await HttpSink.start(opts);
  t.after(() => s.close());
  return s;
}

test('pub → sub: every message arrives in order, bytes unchanged, with Basic credentials', async (t) => {
  const http = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, http.url, {
    readerType: 'sub',
    extra: { auth: { basic: { username: 'edge', password: 's3cret' } } },
  });
  await runClient(t, cfg);
  const pub = await source(t, 'pub', endpoint);
  // PUB drops messages until the subscription has reached it: send a probe until one gets through.
  for (let i = 0; http.accepted.length === 0; i++) {
    await sendNumbered(pub, 'probe', i);
    await http.waitForAccepted(1, 100).catch(() => undefined);
  }
  const message = buildMessage({ content: 'video_frame', sourceId: 'cam1' });
  for (const seq of range(20)) await pub.send(Buffer.from('cam1'), message, [Buffer.from(seq)], false);
  // probes still in flight when the first one was accepted may arrive later: count the cam1 topic only
  const cam1 = () => http.accepted.filter((a) => a.topic === 'cam1');
  await waitUntil(() => cam1().length >= 20, '20 messages of cam1');
  const got = cam1();
  assert.deepEqual(got.map(seqOf), range(20));
  for (const item of got) {
    assert.equal(item.topic, 'cam1');
    assert.deepEqual(Buffer.from(item.media.message!), Buffer.from(message));
    assert.equal(item.path, '/');
    assert.equal(item.headers['content-type'], 'application/protobuf');
    assert.equal(item.headers.authorization, `Basic ${Buffer.from('edge:s3cret').toString('base64')}`);
  }
});

test('rep source, ack on_read: the REQ peer has its OK before the server answers', async (t) => {
  const hold = gate();
  const http = await sink(t, { respond: async () => (await hold.wait(), 200) });
  const { cfg, endpoint } = await clientSetup(t, http.url, { readerType: 'rep', ack: 'on_read' });
  await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  const result = await sendNumbered(req, 'cam1', 0);
  assert.equal(result.kind, 'ack');
  assert.equal(http.accepted.length, 0, 'acknowledged while the server still holds the message');
  hold.open();
  assert.deepEqual((await http.waitForAccepted(1)).map(seqOf), ['0']);
});

test('rep source, ack on_delivery: the REQ peer gets OK only after the 200, and nothing else is read meanwhile', async (t) => {
  let answered = false;
  const http = await sink(t, {
    // two refusals first: the OK must wait through the retries
    respond: (_item, seen) => (seen < 2 ? 503 : 200),
  });
  const { cfg, endpoint } = await clientSetup(t, http.url, { readerType: 'rep', ack: 'on_delivery' });
  const client = await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  const sent = sendNumbered(req, 'cam1', 0).then((r) => {
    answered = true;
    assert.equal(http.accepted.length, 1, 'OK arrived only after the server accepted');
    return r;
  });
  await http.waitFor(() => http.seen.length >= 2, 'two refused attempts');
  assert.equal(answered, false, 'no OK while the server refuses');
  assert.equal(client.stats().read, 1);
  assert.equal((await sent).kind, 'ack');
  // a dead-lettered message is handled too: its OK comes after it was written
  const { cfg: cfg2, endpoint: ep2 } = await clientSetup(t, (await sink(t, { respond: () => 400 })).url, {
    readerType: 'rep',
    ack: 'on_delivery',
  });
  const client2 = await runClient(t, cfg2);
  const req2 = await source(t, 'req', ep2);
  assert.equal((await sendNumbered(req2, 'cam1', 0)).kind, 'ack');
  assert.equal(client2.stats().deadLettered, 1);
});

test('503 and 401 are retried in order with backoff; health says delivery is failing meanwhile', async (t) => {
  const http = await sink(t, { respond: (_i, seen) => (seen < 2 ? 503 : seen < 3 ? 401 : 200) });
  const { cfg, endpoint } = await clientSetup(t, http.url);
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(5)) await sendNumbered(dealer, 'cam1', seq);
  assert.deepEqual((await http.waitForAccepted(5)).map(seqOf), range(5));
  assert.deepEqual(
    http.requests.slice(0, 4).map((r) => r.status),
    [503, 503, 401, 200],
  );
  assert.deepEqual(
    http.seen.slice(0, 4).map(seqOf),
    ['0', '0', '0', '0'],
    'the same message until it passes',
  );
  assert.equal(client.stats().retries, 3);
  assert.deepEqual(client.health(), { status: 'healthy' });
  const metrics = await (await fetch(`http://127.0.0.1:${client.port}/metrics`)).text();
  assert.match(metrics, /media_gateway_client_retries_total\{reason="503"\} [2-9]/);
  assert.match(metrics, /media_gateway_client_retries_total\{reason="401"\} [1-9]/);
});

test('transport errors (server not listening yet) are retried until it comes up; nothing lost', async (t) => {
  const port = await freePort();
  const { cfg, endpoint } = await clientSetup(t, `http://127.0.0.1:${port}`);
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(3)) await sendNumbered(dealer, 'cam1', seq);
  await waitUntil(() => client.stats().retries >= 2, 'two retries');
  const h = client.health();
  assert.equal(h.status, 'degraded');
  assert.match(JSON.stringify(h), /delivery failing since .*reason=connection_refused/);
  const http = await sink(t, { port });
  assert.deepEqual((await http.waitForAccepted(3)).map(seqOf), range(3));
  await waitUntil(() => client.stats().delivered === 3, 'delivered count');
  assert.deepEqual(client.health(), { status: 'healthy' });
});

test('400 and 413 go to the dead-letter directory and the stream moves on', async (t) => {
  const http = await sink(t, {
    respond: (item) => (item.topic === 'bad' ? 400 : item.topic === 'big' ? 413 : 200),
  });
  const { cfg, endpoint } = await clientSetup(t, http.url);
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  await sendNumbered(dealer, 'cam1', 0);
  await sendNumbered(dealer, 'bad', 1);
  await sendNumbered(dealer, 'cam1', 2);
  await sendNumbered(dealer, 'big', 3);
  await sendNumbered(dealer, 'cam1', 4);
  assert.deepEqual((await http.waitForAccepted(3)).map(seqOf), ['0', '2', '4']);
  await waitUntil(() => client.stats().deadLettered === 2, 'two dead letters');
  const files = (await readdir(cfg.deadLetterDir)).sort();
  assert.equal(files.length, 4);
  const media = files.filter((f) => f.endsWith('.media'));
  assert.deepEqual(media.map((f) => f.split('-')[2]).sort(), ['400.media', '413.media']);
  for (const f of media) {
    const decoded = decodeMedia(await readFile(path.join(cfg.deadLetterDir, f)));
    const side = JSON.parse(
      await readFile(path.join(cfg.deadLetterDir, f.replace('.media', '.json')), 'utf8'),
    );
    assert.equal(side.topic, Buffer.from(decoded.topic).toString());
    assert.equal(side.status, side.topic === 'bad' ? 400 : 413);
    assert.equal(seqOf({ media: decoded }), side.topic === 'bad' ? '1' : '3');
  }
  assert.equal(client.stats().retries, 0, 'a permanent refusal is not retried');
  const metrics = await (await fetch(`http://127.0.0.1:${client.port}/metrics`)).text();
  assert.match(metrics, /media_gateway_dead_lettered_total\{status="400"\} [1-9]/);
  assert.match(metrics, /media_gateway_dead_lettered_total\{status="413"\} [1-9]/);
});

test('an unwritable dead-letter directory keeps the message (retried) until it can be written', async (t) => {
  const http = await sink(t, { respond: (item) => (item.topic === 'bad' ? 400 : 200) });
  const { cfg, endpoint, dir } = await clientSetup(t, http.url);
  const blocker = path.join(dir, 'blocker');
  await writeFile(blocker, 'a file where the directory should be');
  cfg.deadLetterDir = path.join(blocker, 'dead');
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  await sendNumbered(dealer, 'bad', 0);
  await sendNumbered(dealer, 'cam1', 1);
  await waitUntil(() => client.stats().retries >= 2, 'dead-letter write retries');
  assert.equal(http.accepted.length, 0, 'order kept: nothing overtakes the stuck message');
  assert.equal(client.health().status, 'degraded');
  await rm(blocker);
  assert.deepEqual((await http.waitForAccepted(1)).map(seqOf), ['1']);
  assert.equal(client.stats().deadLettered, 1);
  assert.equal((await readdir(cfg.deadLetterDir)).filter((f) => f.endsWith('-400.media')).length, 1);
});

test('results that are not messages are dropped, as in the original; EOS passes', async (t) => {
  const http = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, http.url);
  cfg.inStream.topicPrefixSpec = { kind: 'source_id', value: 'cam1' };
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  await sendNumbered(dealer, 'cam2', 'other source');
  await sendNumbered(dealer, 'cam1', 0);
  const eos = buildMessage({ content: 'end_of_stream', sourceId: 'cam1' });
  assert.equal((await dealer.send(Buffer.from('cam1'), eos, [], true)).kind, 'ack');
  const got = await http.waitForAccepted(2);
  assert.deepEqual(
    got.map((i) => i.topic),
    ['cam1', 'cam1'],
  );
  assert.deepEqual(Buffer.from(got[1].media.message!), Buffer.from(eos));
  assert.equal(client.stats().read, 2);
});

test('the queue is bounded by inflight_ops: the reader stops while it is full', async (t) => {
  let worst = 0;
  const ref: { client?: { stats(): { read: number; delivered: number } } } = {};
  const http = await sink(t, {
    respond: async () => {
      const s = ref.client!.stats();
      worst = Math.max(worst, s.read - s.delivered);
      return 200;
    },
  });
  const { cfg, endpoint } = await clientSetup(t, http.url, { inflightOps: 2 });
  ref.client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(30)) await sendNumbered(dealer, 'cam1', seq);
  assert.deepEqual((await http.waitForAccepted(30)).map(seqOf), range(30));
  assert.ok(worst <= 2, `at most 2 read and undelivered, saw ${worst}`);
  assert.ok(worst >= 1);
});

test('stop() delivers what is queued before closing; a drain timeout gives up', async (t) => {
  const hold = gate();
  const http = await sink(t, { respond: async () => (await hold.wait(), 200) });
  const { cfg, endpoint } = await clientSetup(t, http.url);
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(5)) await sendNumbered(dealer, 'cam1', seq);
  await waitUntil(() => client.stats().read === 5, 'all read');
  const stopped = client.stop();
  await http.waitFor(() => http.inflight === 1, 'a held request');
  hold.open();
  await stopped;
  assert.deepEqual(http.accepted.map(seqOf), range(5));
  assert.equal(client.stats().delivered, 5);

  const never = gate();
  const stuck = await sink(t, { respond: async () => (await never.wait(), 200) });
  const s2 = await clientSetup(t, stuck.url);
  const c2 = await runClient(t, s2.cfg);
  const d2 = await source(t, 'dealer', s2.endpoint);
  await sendNumbered(d2, 'cam1', 0);
  await stuck.waitFor(() => stuck.inflight === 1, 'a held request');
  const started = Date.now();
  await c2.stop({ drainTimeoutMs: 100 });
  assert.ok(Date.now() - started < 3000);
  assert.equal(c2.stats().delivered, 0);
  never.open();
});

test('/health, /metrics and 404 on the client port', async (t) => {
  const http = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, http.url);
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  await sendNumbered(dealer, 'cam1', 0);
  await http.waitForAccepted(1);
  await waitUntil(() => client.stats().delivered === 1, 'delivered');
  const base = `http://127.0.0.1:${client.port}`;
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('content-type'), 'application/json');
  assert.equal(await health.text(), '{"status":"healthy"}');
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /media_gateway_messages_total\{side="client",outcome="delivered"\} [1-9]/);
  assert.match(metrics, /media_gateway_client_queue_depth 0/);
  assert.match(metrics, /media_gateway_http_responses_total\{side="client",status="200"\} [1-9]/);
  assert.match(metrics, /media_gateway_request_duration_seconds_count\{side="client"\} [1-9]/);
  assert.equal((await fetch(`${base}/other`)).status, 404);
  assert.equal((await fetch(`${base}/health`, { method: 'POST' })).status, 405);
});
