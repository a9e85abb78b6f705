// Real ZeroMQ sockets (ipc in temp dirs, tcp on free loopback ports) between SavantWriter and SavantReader,
// and raw zeromq peers for the faults a Savant writer/reader never produces itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as zmq from 'zeromq';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { buildMessage, inspectMessage } from '../../src/savant/message.js';
import { zmqReadResultsTotal, zmqSendResultsTotal } from '../../src/metrics/registry.js';
import { nextReal, openReader, openWriter, readerCfg, waitForSubscription, writerCfg } from './harness.js';

const b = (s: string) => Buffer.from(s);
const frame = (source: string, seq = 1n) =>
  buildMessage({ content: 'video_frame', sourceId: source, seqId: seq });
const eos = (source: string) => buildMessage({ content: 'end_of_stream', sourceId: source, seqId: 1n });

async function counter(c: typeof zmqSendResultsTotal, result: string): Promise<number> {
  return (await c.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

test('pub → sub over ipc: bytes pass through unchanged, source_id spec filters, EOS bypasses it', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'nested', 'dir', 'pubsub');
  const reader = await openReader(
    t,
    readerCfg(`sub+bind:ipc://${sock}`, { topicPrefixSpec: { kind: 'source_id', value: 'cam' } }),
  );
  const writer = await openWriter(t, writerCfg(`pub+connect:ipc://${sock}`));
  await waitForSubscription(writer, reader, 'cam');

  const msg = frame('cam', 7n);
  const extra = [Buffer.alloc(100_000, 3), b('second')];
  assert.equal((await writer.send(b('cam'), msg, extra, false)).kind, 'success');
  const got = await nextReal(reader);
  assert.equal(got?.kind, 'message');
  if (got?.kind !== 'message') return;
  assert.deepEqual(got.topic, b('cam'));
  assert.ok(got.message.equals(msg), 'message bytes identical');
  assert.deepEqual(got.data, extra);
  assert.equal(got.routingId, undefined);
  assert.equal(got.info.seqId, 7n);

  // "cam2" passes the ZeroMQ prefix subscription but is not the exact source id
  assert.equal((await writer.send(b('cam2'), frame('cam2'), [], false)).kind, 'success');
  assert.deepEqual(await nextReal(reader), { kind: 'prefix_mismatch', topic: b('cam2') });
  // EOS is never filtered by topic and its extra frames are dropped; pub never waits for an ack
  assert.equal((await writer.send(b('cam9'), eos('cam9'), [b('x')], true)).kind, 'success');
  const e = await nextReal(reader);
  assert.equal(e?.kind === 'message' && e.info.eosSourceId, 'cam9');
  assert.deepEqual(e?.kind === 'message' && e.data, []);
});

test('sub with a prefix spec', async (t) => {
  const port = await freePort();
  const reader = await openReader(
    t,
    readerCfg(`sub+bind:tcp://127.0.0.1:${port}`, { topicPrefixSpec: { kind: 'prefix', value: 'site1/' } }),
  );
  const writer = await openWriter(t, writerCfg(`pub+connect:tcp://127.0.0.1:${port}`));
  await waitForSubscription(writer, reader, 'site1/probe');
  await writer.send(b('other'), frame('other'), [], false); // filtered by the subscription itself
  await writer.send(b('site1/cam'), frame('site1/cam'), [], false);
  const got = await nextReal(reader);
  assert.equal(got?.kind === 'message' && got.topic.toString(), 'site1/cam');
});

test('req → rep over tcp: every message is acked; EOS, mismatch, invalid and blacklisted get OK too', async (t) => {
  const port = await freePort();
  const reader = await openReader(
    t,
    readerCfg(`rep+bind:tcp://127.0.0.1:${port}`, { topicPrefixSpec: { kind: 'source_id', value: 'cam' } }),
  );
  const writer = await openWriter(t, writerCfg(`req+connect:tcp://127.0.0.1:${port}`));

  const msg = frame('cam');
  const sent = writer.send(b('cam'), msg, [b('e1'), b('e2')], false);
  const got = await reader.receive();
  const res = await sent;
  assert.equal(res.kind, 'ack');
  assert.equal(got?.kind, 'message');
  if (got?.kind === 'message') {
    assert.ok(got.message.equals(msg));
    assert.deepEqual(got.data, [b('e1'), b('e2')]);
  }

  const eosSent = writer.send(b('cam'), eos('cam'), [b('dropped')], true);
  const e = await reader.receive();
  assert.equal((await eosSent).kind, 'ack');
  assert.deepEqual(e?.kind === 'message' && e.data, []);

  const mm = writer.send(b('dog'), frame('dog'), [], false);
  assert.deepEqual(await reader.receive(), { kind: 'prefix_mismatch', topic: b('dog') });
  assert.equal((await mm).kind, 'ack');

  const bad = writer.send(b('cam'), Buffer.from([0x0a, 0x05, 0x30]), [], false);
  const inv = await reader.receive();
  assert.equal(inv?.kind, 'invalid');
  assert.equal((await bad).kind, 'ack', 'the REP reader still answers so the peer is not stuck');

  const noContent = writer.send(b('cam'), buildMessage({ content: 'unknown' }).subarray(0, 7), [], false);
  const nc = await reader.receive();
  assert.equal(nc?.kind === 'invalid' && nc.error.message, 'Message has no content');
  assert.equal((await noContent).kind, 'ack');

  reader.blacklistSource(b('cam'));
  const bl = writer.send(b('cam'), frame('cam'), [], false);
  assert.deepEqual(await reader.receive(), { kind: 'blacklisted', topic: b('cam') });
  assert.equal((await bl).kind, 'ack');
});

test('too_short: rep and router answer/skip it and keep working', async (t) => {
  const dir = await tempDir(t);
  const rep = await openReader(t, readerCfg(`rep+bind:ipc://${dir}/rep`));
  const req = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
  t.after(() => req.close());
  req.connect(`ipc://${dir}/rep`);
  await req.send(b('only-topic'));
  assert.deepEqual(await rep.receive(), { kind: 'too_short', parts: 1 });
  assert.deepEqual(await req.receive(), [b('OK')]);

  const router = await openReader(t, readerCfg(`router+bind:ipc://${dir}/router`));
  const dealer = new zmq.Dealer({ linger: 0 });
  t.after(() => dealer.close());
  dealer.connect(`ipc://${dir}/router`);
  await dealer.send([b('topic')]);
  assert.deepEqual(await router.receive(), { kind: 'too_short', parts: 2 });
  const before = await counter(zmqReadResultsTotal, 'message');
  await dealer.send([b('cam'), frame('cam')]);
  assert.equal((await router.receive())?.kind, 'message');
  assert.equal(await counter(zmqReadResultsTotal, 'message'), before + 1);
});

test('dealer → router over ipc: success for frames, EOS acked with [rid, OK], order kept under concurrency', async (t) => {
  const dir = await tempDir(t);
  const url = `ipc://${dir}/router`;
  const reader = await openReader(t, readerCfg(`router+bind:${url}`));
  const writer = await openWriter(t, writerCfg(`dealer+connect:${url}`));

  const big = buildMessage({ content: 'video_frame', sourceId: 'cam', payload: Buffer.alloc(1 << 20, 9) });
  assert.equal((await writer.send(b('cam'), big, [b('x')], false)).kind, 'success');
  const got = await reader.receive();
  assert.equal(got?.kind, 'message');
  if (got?.kind === 'message') {
    assert.ok(got.message.equals(big), 'large message byte-identical');
    assert.deepEqual(got.data, [b('x')]);
    assert.ok(got.routingId && got.routingId.length > 0);
  }

  // concurrent callers are served FIFO: seq ids arrive in call order
  const sends = Array.from({ length: 40 }, (_, i) =>
    writer.send(b('cam'), frame('cam', BigInt(i + 1)), [], false),
  );
  for (let i = 0; i < 40; i++) {
    const r = await reader.receive();
    assert.equal(r?.kind === 'message' && r.info.seqId, BigInt(i + 1));
  }
  assert.ok((await Promise.all(sends)).every((r) => r.kind === 'success'));

  // concurrent receive() calls are served in call order too, also when a call is made while others wait
  const early = Array.from({ length: 5 }, () => reader.receive());
  for (let i = 0; i < 10; i++) await writer.send(b('cam'), frame('cam', BigInt(100 + i)), [], false);
  const late = Array.from({ length: 5 }, () => reader.receive());
  const seqs = (await Promise.all([...early, ...late])).map((r) =>
    r?.kind === 'message' ? r.info.seqId : -1n,
  );
  assert.deepEqual(
    seqs,
    Array.from({ length: 10 }, (_, i) => BigInt(100 + i)),
  );

  const ackBefore = await counter(zmqSendResultsTotal, 'ack');
  const eosSent = writer.send(b('cam'), eos('cam'), [b('dropped')], true);
  const e = await reader.receive();
  assert.equal(e?.kind === 'message' && e.info.content, 'end_of_stream');
  assert.deepEqual(e?.kind === 'message' && e.data, []);
  const res = await eosSent;
  assert.equal(res.kind, 'ack');
  assert.equal(await counter(zmqSendResultsTotal, 'ack'), ackBefore + 1);
});

test('router routing-id filter: a superseded sender of a topic is refused', async (t) => {
  const port = await freePort();
  const url = `tcp://127.0.0.1:${port}`;
  const reader = await openReader(t, readerCfg(`router+bind:${url}`));
  const a = await openWriter(t, writerCfg(`dealer+connect:${url}`));
  const c = await openWriter(t, writerCfg(`dealer+connect:${url}`));

  await a.send(b('cam'), frame('cam'), [], false);
  const first = await reader.receive();
  assert.equal(first?.kind, 'message');
  await c.send(b('cam'), frame('cam'), [], false);
  const second = await reader.receive();
  assert.equal(second?.kind, 'message', 'a new sender takes over the topic');
  await a.send(b('cam'), frame('cam'), [], false);
  const third = await reader.receive();
  assert.equal(third?.kind, 'routing_id_mismatch');
  assert.deepEqual(
    third?.kind === 'routing_id_mismatch' && third.routingId,
    first?.kind === 'message' && first.routingId,
  );
  // EOS bypasses the routing filter
  const eosRes = a.send(b('cam'), eos('cam'), [], true);
  assert.equal((await reader.receive())?.kind, 'message');
  assert.equal((await eosRes).kind, 'ack');
});

test('dealer EOS whose reply is not OK is an error', async (t) => {
  const dir = await tempDir(t);
  const router = new zmq.Router({ linger: 0 });
  t.after(() => router.close());
  await router.bind(`ipc://${dir}/r`);
  const writer = await openWriter(t, writerCfg(`dealer+connect:ipc://${dir}/r`));
  const sent = writer.send(b('cam'), eos('cam'), [], true);
  const [rid] = await router.receive();
  await router.send([rid, b('NO')]);
  const res = await sent;
  assert.equal(res.kind, 'error');
  assert.equal(res.kind === 'error' ? (res.error as NodeJS.ErrnoException).code : '', 'eos_unconfirmed');
});

test('send_timeout: a bound dealer without any peer', async (t) => {
  const dir = await tempDir(t);
  const writer = await openWriter(
    t,
    writerCfg(`dealer+bind:ipc://${dir}/lonely`, { sendTimeoutMs: 50, sendRetries: 2 }),
  );
  const before = await counter(zmqSendResultsTotal, 'send_timeout');
  const started = Date.now();
  assert.deepEqual(await writer.send(b('cam'), frame('cam'), [], false), { kind: 'send_timeout' });
  assert.ok(Date.now() - started >= 140, 'three attempts of 50 ms each');
  assert.equal(await counter(zmqSendResultsTotal, 'send_timeout'), before + 1);
});

test('a message the socket cannot take at once waits for a peer within send_timeout, without a retry', async (t) => {
  const dir = await tempDir(t);
  const writer = await openWriter(
    t,
    writerCfg(`dealer+bind:ipc://${dir}/later`, { sendTimeoutMs: 30_000, sendRetries: 0 }),
  );
  // no peer yet: the attempt without waiting is refused, the waiting one takes the message once one connects
  const sent = writer.send(b('cam'), frame('cam'), [], false);
  const router = new zmq.Router({ linger: 0 });
  t.after(() => router.close());
  router.connect(`ipc://${dir}/later`);
  const [, topic] = await router.receive();
  assert.deepEqual(topic, b('cam'));
  const res = await sent;
  assert.equal(res.kind, 'success');
  assert.equal(res.kind === 'success' ? res.retriesSpent : -1, 0);
  // and the socket takes the next one at once again
  assert.equal((await writer.send(b('cam'), frame('cam', 2n), [], false)).kind, 'success');
  assert.equal(inspectMessage((await router.receive())[2]).seqId, 2n);
});

test('closing the writer while a send waits for a peer ends that send with socket_closed', async (t) => {
  const dir = await tempDir(t);
  // a minute per attempt: a send that kept waiting after the close would outlast the test's own timeout
  const writer = await openWriter(
    t,
    writerCfg(`dealer+bind:ipc://${dir}/nobody`, { sendTimeoutMs: 60_000, sendRetries: 1 }),
  );
  const sent = writer.send(b('cam'), frame('cam'), [], false);
  // the refused first attempt and the start of the timed one run in microtasks: after a turn it waits
  await new Promise((resolve) => setImmediate(resolve));
  await writer.close();
  const res = await sent;
  assert.equal(res.kind, 'error');
  assert.equal(res.kind === 'error' ? (res.error as NodeJS.ErrnoException).code : '', 'socket_closed');
});

test('a reader receives in order across empty waits and bursts longer than its stretch of timed receives', async (t) => {
  const dir = await tempDir(t);
  const reader = await openReader(t, readerCfg(`router+bind:ipc://${dir}/in`, { receiveTimeoutMs: 20 }));
  const writer = await openWriter(t, writerCfg(`dealer+connect:ipc://${dir}/in`));
  // the first receive finds nothing queued and waits, through several 20 ms timeouts, for the first message
  const first = reader.receive();
  assert.equal((await writer.send(b('cam'), frame('cam', 0n), [], false)).kind, 'success');
  const seqs = [((await first) as { info: { seqId: bigint } }).info.seqId];
  // a burst longer than the timed stretch after an empty queue, then an empty queue again, then one more
  const sent = Promise.all(
    Array.from({ length: 200 }, (_, i) => writer.send(b('cam'), frame('cam', BigInt(i + 1)), [], false)),
  );
  for (let i = 0; i < 200; i++)
    seqs.push(((await reader.receive()) as { info: { seqId: bigint } }).info.seqId);
  assert.ok((await sent).every((r) => r.kind === 'success'));
  const late = reader.receive();
  assert.equal((await writer.send(b('cam'), frame('cam', 201n), [], false)).kind, 'success');
  seqs.push(((await late) as { info: { seqId: bigint } }).info.seqId);
  assert.deepEqual(
    seqs,
    Array.from({ length: 202 }, (_, i) => BigInt(i)),
  );
});

test('a reader with a full queue lets the event loop turn while it reads', async (t) => {
  const dir = await tempDir(t);
  const url = `ipc://${dir}/full`;
  const reader = await openReader(t, readerCfg(`router+bind:${url}`, { receiveHwm: 2000 }));
  const writer = await openWriter(t, writerCfg(`dealer+connect:${url}`, { sendHwm: 2000 }));
  const sends = Array.from({ length: 3000 }, (_, i) =>
    writer.send(b('cam'), frame('cam', BigInt(i)), [], false),
  );
  assert.ok((await Promise.all(sends)).every((r) => r.kind === 'success'));
  // With the writer's last send done, about 1000 messages wait in the reader's queue: each receive of
  // them resolves at once. A turn of the loop must still come within the first 1000 (one per 512).
  let turns = 0;
  let counting = true;
  const count = (): void => {
    if (!counting) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  for (let i = 0; i < 1000; i++) assert.equal((await reader.receive())?.kind, 'message');
  counting = false;
  assert.ok(turns >= 1, 'the event loop turned while the reader read 1000 queued messages');
});

test('req ack_timeout: a rep that never answers; the req socket is re-created and works again', async (t) => {
  const port = await freePort();
  // 1 s per receive attempt: the second exchange must be answered in time by a REP in this very process,
  // which a loaded machine did not always manage within 100 ms
  const writer = await openWriter(
    t,
    writerCfg(`req+bind:tcp://127.0.0.1:${port}`, { receiveTimeoutMs: 1000, receiveRetries: 1 }),
  );
  const rep = new zmq.Reply({ linger: 0 });
  t.after(() => rep.close());
  rep.connect(`tcp://127.0.0.1:${port}`);

  const sent = writer.send(b('cam'), frame('cam', 1n), [], false);
  await rep.receive(); // and never answer it
  const res = await sent;
  assert.equal(res.kind, 'ack_timeout');
  assert.ok(res.kind === 'ack_timeout' && res.timeSpentMs >= 1990, 'two receive attempts of 1 s');

  await rep.send(b('late')); // goes to the old, closed connection; frees the raw REP to receive again
  const next = writer.send(b('cam'), frame('cam', 2n), [], false);
  const [topic, msg] = await rep.receive();
  assert.deepEqual(topic, b('cam'));
  assert.equal(inspectMessage(msg).seqId, 2n);
  await rep.send(b('OK'));
  assert.equal((await next).kind, 'ack');
});

test('on_delivery on rep: OK only after ack(), and the next message waits for it', async (t) => {
  const dir = await tempDir(t);
  const url = `ipc://${dir}/rep`;
  const reader = await openReader(t, readerCfg(`rep+bind:${url}`, { ack: 'on_delivery' }));
  const req1 = new zmq.Request({ linger: 0, receiveTimeout: 150 });
  const req2 = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
  t.after(() => req1.close());
  t.after(() => req2.close());
  req1.connect(url);
  req2.connect(url);

  await req1.send([b('cam'), frame('cam', 1n)]);
  const m1 = await reader.receive();
  assert.equal(m1?.kind, 'message');
  await req2.send([b('cam'), frame('cam', 2n)]);
  let secondRead = false;
  const p2 = reader.receive().then((r) => ((secondRead = true), r));

  await assert.rejects(req1.receive(), { code: 'EAGAIN' }, 'no OK before ack()');
  assert.equal(secondRead, false, 'rep does not read the next message before the ack');
  // the short wait above only looked for an early OK; the OK that is owed now may take longer under load
  req1.receiveTimeout = 10_000;
  if (m1?.kind === 'message') await m1.ack();
  assert.deepEqual(await req1.receive(), [b('OK')]);
  const m2 = await p2;
  assert.equal(m2?.kind === 'message' && m2.info.seqId, 2n);
  if (m2?.kind === 'message') await m2.ack();
  assert.deepEqual(await req2.receive(), [b('OK')]);
});

test('on_delivery on router: EOS acked by ack(), frames need none', async (t) => {
  const port = await freePort();
  const url = `tcp://127.0.0.1:${port}`;
  const reader = await openReader(t, readerCfg(`router+bind:${url}`, { ack: 'on_delivery' }));
  const writer = await openWriter(t, writerCfg(`dealer+connect:${url}`));

  assert.equal((await writer.send(b('cam'), frame('cam'), [], false)).kind, 'success');
  const m = await reader.receive();
  assert.equal(m?.kind, 'message');
  let eosDone = false;
  const eosSent = writer.send(b('cam'), eos('cam'), [], true).then((r) => ((eosDone = true), r));
  const e = await reader.receive();
  assert.equal(e?.kind === 'message' && e.info.content, 'end_of_stream');
  assert.equal(eosDone, false);
  if (e?.kind === 'message') {
    await e.ack();
    await e.ack(); // idempotent
  }
  assert.equal((await eosSent).kind, 'ack');
});

test('close: pending and later receive() resolve undefined; send after close is an error', async (t) => {
  const dir = await tempDir(t);
  const reader = await openReader(t, readerCfg(`router+bind:ipc://${dir}/r`));
  const pending = reader.receive();
  await reader.close();
  assert.equal(await pending, undefined);
  assert.equal(await reader.receive(), undefined);

  const writer = await openWriter(t, writerCfg(`dealer+bind:ipc://${dir}/w`));
  await writer.close();
  const res = await writer.send(b('cam'), frame('cam'), [], false);
  assert.equal(res.kind, 'error');
  assert.equal(res.kind === 'error' ? (res.error as NodeJS.ErrnoException).code : '', 'socket_closed');
});

test('roles are enforced at open', async () => {
  const { SavantReader } = await import('../../src/savant/reader.js');
  const { SavantWriter } = await import('../../src/savant/writer.js');
  await assert.rejects(
    SavantWriter.open(writerCfg('sub+bind:tcp://127.0.0.1:1')),
    /Invalid socket type for writer: sub/,
  );
  await assert.rejects(
    SavantReader.open(readerCfg('dealer+bind:tcp://127.0.0.1:1')),
    /Invalid socket type for reader: dealer/,
  );
  await assert.rejects(
    SavantWriter.open(writerCfg('pub+bind:tcp://127.0.0.1:1', { sendTimeoutMs: 0 })),
    /sendTimeoutMs/,
  );
  await assert.rejects(
    SavantReader.open(readerCfg('sub+bind:tcp://127.0.0.1:1', { sourceCacheSize: 0 })),
    /sourceCacheSize/,
  );
});
