// Several servers in the client (`urls`), over real sockets: a Savant `req` source acknowledged on delivery,
// the client, and two scripted HTTP receivers (test/helpers/http-sink.ts) standing for two gateway servers.
// A lane whose server fails (gone, or answering 5xx) moves to the next one; nothing is lost, and each
// topic's messages are accepted in order across both receivers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { HttpSink, type SinkItem } from '../helpers/http-sink.js';
import { freePort } from '../helpers/net.js';
import { clientSetup, range, runClient, sendNumbered, seqOf, source, waitUntil } from './fixtures.js';

async function sink(t: { after(fn: () => unknown): void }, opts: Parameters<typeof HttpSink.start>[0] = {}) {
  const s = await HttpSink.start(opts);
  t.after(() => s.close());
  return s;
}

/** Per topic, the seqs in the order first accepted by `a` then `b` (a lane only moves forward, a → b). */
function firstAcceptedByTopic(...sinks: HttpSink[]): Map<string, string[]> {
  const byTopic = new Map<string, string[]>();
  for (const s of sinks)
    for (const item of s.accepted as SinkItem[]) {
      const list = byTopic.get(item.topic) ?? [];
      if (!list.includes(seqOf(item))) list.push(seqOf(item));
      byTopic.set(item.topic, list);
    }
  return byTopic;
}

test('urls: a server that goes away mid-stream: lanes move to the other, req + on_delivery loses nothing, per-topic order kept', async (t) => {
  const a = await sink(t);
  const b = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, a.url, {
    readerType: 'rep',
    ack: 'on_delivery',
    transport: { mode: 'batch', lanes: 4 },
    extra: { urls: [a.url, b.url] },
  });
  await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  const topics = ['cam1', 'cam2', 'cam3', 'cam4', 'cam5'];
  const total = 40;
  for (const seq of range(total)) {
    if (Number(seq) === 15) await a.close(); // the first server disappears with the stream half sent
    const r = await sendNumbered(req, topics[Number(seq) % topics.length], seq);
    assert.equal(r.kind, 'ack', `message ${seq} acknowledged`);
  }
  await waitUntil(
    () => firstAcceptedByTopic(a, b).size === topics.length && b.accepted.length > 0,
    'deliveries',
  );
  const byTopic = firstAcceptedByTopic(a, b);
  for (const [i, topic] of topics.entries()) {
    const expected = range(total).filter((s) => Number(s) % topics.length === i);
    assert.deepEqual(byTopic.get(topic), expected, `${topic}: every message, in order`);
  }
  assert.ok(a.accepted.length >= 15 && b.accepted.length >= total - 15, 'both servers took part');
});

test('urls: a first server that is down from the start is passed over at once', async (t) => {
  const b = await sink(t);
  const down = `http://127.0.0.1:${await freePort()}`;
  const { cfg, endpoint } = await clientSetup(t, down, {
    readerType: 'rep',
    ack: 'on_delivery',
    extra: { urls: [down, b.url] },
  });
  await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  for (const seq of range(5)) assert.equal((await sendNumbered(req, 'cam1', seq)).kind, 'ack');
  assert.deepEqual(b.accepted.map(seqOf), range(5));
});

test('urls: a 5xx answer moves the lane, which then stays on the new server', async (t) => {
  const a = await sink(t, { respond: (item) => (seqOf(item) === '1' ? 503 : 200) });
  const b = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, a.url, {
    readerType: 'rep',
    ack: 'on_delivery',
    extra: { urls: [a.url, b.url] },
  });
  await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  for (const seq of range(4)) assert.equal((await sendNumbered(req, 'cam1', seq)).kind, 'ack');
  assert.deepEqual(a.accepted.map(seqOf), ['0']);
  assert.deepEqual(b.accepted.map(seqOf), ['1', '2', '3'], 'the lane stays on the new server');
});

test('a single url keeps working exactly as before (no server set)', async (t) => {
  const a = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, a.url, { readerType: 'rep', ack: 'on_delivery' });
  await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  for (const seq of range(3)) assert.equal((await sendNumbered(req, 'cam1', seq)).kind, 'ack');
  assert.deepEqual(a.accepted.map(seqOf), range(3));
});

test('urls: with every server down the lane keeps going round them, and delivers once one comes back', async (t) => {
  const [portA, portB] = [await freePort(), await freePort()];
  const urls = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const { cfg, endpoint } = await clientSetup(t, urls[0], {
    readerType: 'rep',
    ack: 'on_delivery',
    extra: { urls },
  });
  const client = await runClient(t, cfg);
  const req = await source(t, 'req', endpoint);
  const sent = sendNumbered(req, 'cam1', 0);
  // both refused a few times: the lane has been to both and set both aside
  await waitUntil(() => client.stats().retries >= 4, 'retries against both servers');
  // the first server comes back; the lane, going round although both were set aside, finds it
  const a = await sink(t, { port: portA });
  const started = Date.now();
  assert.equal((await sent).kind, 'ack');
  assert.deepEqual(a.accepted.map(seqOf), ['0']);
  // below the 5 s set-aside with room for a loaded machine's slower round trip
  assert.ok(Date.now() - started < 4000, 'found without waiting for the 5 s set-aside to end');
});

/** A separate process answering 200 to every POST (its port on stdout): one that can be frozen with SIGSTOP. */
async function stoppableServer(t: { after(fn: () => unknown): void }): Promise<{ url: string; pid: number }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.end()); });
       s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}`, pid: child.pid! };
}

test('urls: a frozen server (SIGSTOP: connections accepted, never answered) is left after transport.request_timeout', async (t) => {
  const frozen = await stoppableServer(t);
  const b = await sink(t);
  const { cfg, endpoint } = await clientSetup(t, frozen.url, {
    readerType: 'rep',
    ack: 'on_delivery',
    // 2 s: the first messages must be answered within it by a server process on a loaded machine (500 ms
    // was tight), and it is still far below undici's own 300 s
    transport: { requestTimeoutMs: 2000 },
    extra: { urls: [frozen.url, b.url] },
  });
  await runClient(t, cfg);
  // the writer gives up on an ack after 4 s: without the client's own timeout (undici's is 300 s) it would
  const req = await source(t, 'req', endpoint, { receiveTimeoutMs: 4000, receiveRetries: 1 });
  for (const seq of range(3)) assert.equal((await sendNumbered(req, 'cam1', seq)).kind, 'ack');
  assert.equal(b.accepted.length, 0, 'the first server took the first messages');
  process.kill(frozen.pid, 'SIGSTOP');
  const started = Date.now();
  assert.equal((await sendNumbered(req, 'cam1', '3')).kind, 'ack');
  const took = Date.now() - started;
  assert.deepEqual(b.accepted.map(seqOf), ['3']);
  assert.ok(took >= 1900, `left after the timeout, not before (${took} ms)`);
});
