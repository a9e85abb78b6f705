// What an ack timeout leaves behind: the writer reported the send as failed (the server answers 502 and
// the client retries), so the request must not reach the sink afterwards, and a late OK must not count
// as the ack of a later send. Real req/dealer writers against raw zeromq sinks on ipc paths in temp dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as zmq from 'zeromq';
import { tempDir } from '../helpers/tmp.js';
import { buildMessage, inspectMessage } from '../../src/savant/message.js';
import { openWriter, writerCfg } from './harness.js';

const b = (s: string) => Buffer.from(s);
const frame = (seq: bigint) => buildMessage({ content: 'video_frame', sourceId: 'cam', seqId: seq });
const eos = (seq: bigint) => buildMessage({ content: 'end_of_stream', sourceId: 'cam', seqId: seq });
// well above libzmq's 100 ms reconnect interval, so that a fresh socket reaches a sink that is back in time
const acks = { receiveTimeoutMs: 500, receiveRetries: 0 };

test('req: a request queued while the sink was away and timed out is dropped, not delivered when it comes back', async (t) => {
  const url = `ipc://${path.join(await tempDir(t), 'sink')}`;
  // 200 ms: the timed-out socket is closed while it still retries connecting every 100 ms, so a socket
  // that lingered would reach the returning sink and deliver seq 1
  const writer = await openWriter(
    t,
    writerCfg(`req+connect:${url}`, { receiveTimeoutMs: 200, receiveRetries: 0 }),
  );
  // nobody listens: libzmq queues the request on the connecting socket and no reply can come
  assert.equal((await writer.send(b('cam'), frame(1n), [], false)).kind, 'ack_timeout');

  const sink = new zmq.Reply({ linger: 0, receiveTimeout: 10_000 });
  t.after(() => sink.close());
  await sink.bind(url);
  const firstSeen = sink.receive().then(async ([, msg]) => {
    await sink.send(b('OK'));
    return inspectMessage(msg).seqId;
  });
  // the fresh socket may need a reconnect interval to find the sink: a request that times out meanwhile
  // is dropped in turn, so send the next one until one is acknowledged
  let acked = 2n;
  for (; ; acked++) {
    const res = await writer.send(b('cam'), frame(acked), [], false);
    if (res.kind === 'ack') break;
    assert.equal(res.kind, 'ack_timeout');
    assert.ok(acked < 20n, 'the sink is reached within a few reconnect intervals');
  }
  assert.equal(await firstSeen, acked, 'the first request the sink sees is the acknowledged one');
});

test('dealer: an OK arriving after its EOS timed out is not taken as the ack of the next EOS', async (t) => {
  const url = `ipc://${path.join(await tempDir(t), 'sink')}`;
  const sink = new zmq.Router({ linger: 0, receiveTimeout: 5000 });
  t.after(() => sink.close());
  await sink.bind(url);
  const writer = await openWriter(t, writerCfg(`dealer+connect:${url}`, acks));

  const first = writer.send(b('cam'), eos(1n), [], true);
  const [firstPeer] = await sink.receive();
  assert.equal((await first).kind, 'ack_timeout');
  await sink.send([firstPeer, b('OK')]); // late

  const second = writer.send(b('cam'), eos(2n), [], true);
  const [, , secondMsg] = await sink.receive();
  assert.equal(inspectMessage(secondMsg).seqId, 2n);
  // the sink never confirms the second EOS: only a stale OK could make it look acknowledged
  assert.equal((await second).kind, 'ack_timeout');
});

test('dealer: an EOS queued while the sink was away and timed out is not delivered when it comes back', async (t) => {
  const url = `ipc://${path.join(await tempDir(t), 'sink')}`;
  const writer = await openWriter(t, writerCfg(`dealer+connect:${url}`, acks));
  assert.equal((await writer.send(b('cam'), eos(1n), [], true)).kind, 'ack_timeout');

  const sink = new zmq.Router({ linger: 0, receiveTimeout: 5000 });
  t.after(() => sink.close());
  await sink.bind(url);
  assert.equal((await writer.send(b('cam'), frame(2n), [], false)).kind, 'success');
  const [, , msg] = await sink.receive();
  assert.equal(inspectMessage(msg).seqId, 2n, 'the timed-out EOS (seq 1) never arrives');
});
