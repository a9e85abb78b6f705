// Every Savant socket pair end to end through the real client and the real server: source pub/req/dealer
// into the client, server pub/req/dealer out to the sink. Messages keep their bytes and extra frames,
// end-of-stream is acknowledged along the whole path, topics keep their order across lanes and batches,
// and `ack: on_delivery` makes a REQ source's send complete only once the sink has the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { buildMessage } from '../../src/savant/message.js';
import { nextReal, waitForSubscription } from '../savant/harness.js';
import { nextMessage } from '../server/fixtures.js';
import { sendNumbered, waitUntil } from '../client/fixtures.js';
import { startChain, type WriterType } from './chain.js';

const enc = (s: string) => Buffer.from(s);

function frame(topic: string, seq: number): Buffer {
  return Buffer.from(buildMessage({ content: 'video_frame', sourceId: topic, seqId: BigInt(seq + 1) }));
}

const eosOf = (topic: string) => Buffer.from(buildMessage({ content: 'end_of_stream', sourceId: topic }));

/** A pending promise's state, without waiting for it. */
function watch<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled, promise: p };
}

test('pub → sub on both sides: frames with extra data arrive unchanged, then the EOS', async (t) => {
  const c = await startChain(t, { source: 'pub', sink: 'pub' });
  // Both PUB sockets drop everything until their subscriber has joined: probe through the whole chain.
  await waitForSubscription(c.source, c.sink, 'cam1');
  const sent = [0, 1, 2].map((i) => frame('cam1', i));
  for (const [i, m] of sent.entries()) {
    const r = await c.source.send(
      enc('cam1'),
      m,
      [enc(`extra-${i}`), Buffer.alloc(0), Buffer.alloc(3000, i)],
      false,
    );
    assert.equal(r.kind, 'success');
  }
  for (const [i, m] of sent.entries()) {
    const got = await nextReal(c.sink);
    assert.equal(got?.kind, 'message');
    if (got?.kind !== 'message') return;
    assert.deepEqual(got.topic, enc('cam1'));
    assert.deepEqual(got.message, m);
    assert.deepEqual(got.data, [enc(`extra-${i}`), Buffer.alloc(0), Buffer.alloc(3000, i)]);
  }
  // EOS over PUB has no acknowledgement; it still travels (its extra frames are dropped by the reader)
  assert.equal((await c.source.send(enc('cam1'), eosOf('cam1'), [enc('x')], true)).kind, 'success');
  const eos = await nextReal(c.sink);
  assert.equal(eos?.kind === 'message' && eos.info.content, 'end_of_stream');
  assert.equal(eos?.kind === 'message' && eos.info.eosSourceId, 'cam1');
});

const acked: { source: WriterType; sink: WriterType }[] = [
  { source: 'req', sink: 'req' },
  { source: 'dealer', sink: 'dealer' },
  { source: 'req', sink: 'dealer' },
  { source: 'dealer', sink: 'req' },
];

for (const pair of acked) {
  test(`${pair.source} source → client, server ${pair.sink} → sink: frames and an acknowledged EOS`, async (t) => {
    const c = await startChain(t, { ...pair, ack: 'on_delivery' });
    const sent = [0, 1, 2].map((i) => frame('cam1', i));
    for (const [i, m] of sent.entries()) {
      // a REP sink answers only while it is being read, so read while the source sends
      const sending = c.source.send(enc('cam1'), m, [enc(`extra-${i}`), enc('second')], false);
      const got = await nextMessage(c.sink);
      assert.deepEqual(got.message, m);
      assert.deepEqual(got.data, [enc(`extra-${i}`), enc('second')]);
      assert.equal((await sending).kind, pair.source === 'req' ? 'ack' : 'success');
    }
    // The EOS's OK comes back to the source only after the server's 200, which needs the sink's OK.
    const eos = watch(c.source.send(enc('cam1'), eosOf('cam1'), [], true));
    const got = await nextMessage(c.sink);
    assert.equal(got.info.content, 'end_of_stream');
    assert.deepEqual(got.message, eosOf('cam1'));
    assert.equal((await eos.promise).kind, 'ack', 'the source got OK for its EOS');
    await waitUntil(() => c.client.stats().delivered === 4, 'four deliveries');
  });
}

test('the sink holds its OK: the EOS ack reaches neither the server nor the source until it is sent', async (t) => {
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    ack: 'on_delivery',
    sinkAck: 'on_delivery',
  });
  const eos = watch(c.source.send(enc('cam9'), eosOf('cam9'), [], true));
  const got = await nextMessage(c.sink);
  assert.equal(got.info.content, 'end_of_stream');
  // a short look while the sink withholds its OK: nothing upstream may have completed
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(eos.settled(), false, 'EOS acknowledged upstream before the sink confirmed it');
  assert.equal(c.client.stats().delivered, 0);
  await got.ack();
  assert.equal((await eos.promise).kind, 'ack');
  await waitUntil(() => c.client.stats().delivered === 1, 'delivered after the sink OK');
});

test('raw zeromq peers at both ends: every frame arrives byte-identical', async (t) => {
  const c = await startChain(t, { source: 'dealer', sink: 'dealer', openSource: false, openSink: false });
  // raw sockets, not our reader and writer: the bytes are compared with what zeromq itself carried
  const router = new zmq.Router({ linger: 0, receiveTimeout: 5000 });
  t.after(() => router.close());
  await router.bind(c.sinkEndpoint);
  const dealer = new zmq.Dealer({ linger: 0, sendTimeout: 2000 });
  t.after(() => dealer.close());
  dealer.connect(c.sourceEndpoint);

  const topic = Buffer.from([0x63, 0x61, 0x6d, 0x2d, 0xc3, 0xa9]); // "cam-é" in UTF-8
  const message = Buffer.from(
    buildMessage({ content: 'video_frame', sourceId: 'cam-é', payload: Buffer.alloc(70_000, 7) }),
  );
  const extra = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), Buffer.alloc(100_000, 0xa5)];
  await dealer.send([topic, message, ...extra]);
  const [identity, ...frames] = await router.receive();
  assert.ok(identity.length > 0, 'a ROUTER sees the DEALER identity first');
  assert.deepEqual(frames, [topic, message, ...extra]);
  await waitUntil(() => c.client.stats().delivered === 1, 'delivered');
});

test('several topics, lanes > 1, batch mode: each topic keeps its order', async (t) => {
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    transport: { mode: 'batch', lanes: 3, maxBatchMessages: 8 },
  });
  const topics = ['t-a', 't-b', 't-c', 't-d', 't-e'];
  const n = 40;
  for (let seq = 0; seq < n; seq++) for (const tp of topics) await sendNumbered(c.source, tp, seq);
  const seen = new Map<string, number[]>(topics.map((tp) => [tp, []]));
  for (let i = 0; i < n * topics.length; i++) {
    const m = await nextMessage(c.sink);
    seen.get(m.topic.toString())!.push(Number(m.data[0].toString()));
  }
  for (const tp of topics)
    assert.deepEqual(
      seen.get(tp),
      Array.from({ length: n }, (_, i) => i),
      `order of ${tp}`,
    );
  await waitUntil(() => c.client.stats().delivered === n * topics.length, 'all delivered');
  assert.equal(c.client.stats().retries, 0);
});

test('ack on_delivery with a req source: send returns only after the sink has the message', async (t) => {
  const c = await startChain(t, { source: 'req', sink: 'req', ack: 'on_delivery', sinkAck: 'on_delivery' });
  for (let seq = 0; seq < 3; seq++) {
    const sent = watch(sendNumbered(c.source, 'cam1', seq));
    const got = await nextMessage(c.sink);
    assert.equal(got.data[0].toString(), String(seq));
    // the sink has it and withholds its OK; a short look: the source must still be waiting
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent.settled(), false, `message ${seq}: the source's send returned before the sink had it`);
    await got.ack();
    assert.equal((await sent.promise).kind, 'ack');
  }
});

test('ack on_read with a req source: the source is answered at once, the message still arrives', async (t) => {
  const c = await startChain(t, { source: 'req', sink: 'req', ack: 'on_read', sinkAck: 'on_delivery' });
  const r = await sendNumbered(c.source, 'cam1', 0);
  assert.equal(r.kind, 'ack');
  const got = await nextMessage(c.sink);
  assert.equal(got.data[0].toString(), '0');
  await got.ack();
});
