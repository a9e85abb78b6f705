// What an ack timeout leaves behind: the writer reported the send as failed (the server answers 502 and
// the client retries), so the request must not reach the sink afterwards, and a late OK must not count
// as the ack of a later send. Real req/dealer writers against raw zeromq sinks on ipc paths in temp dirs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as zmq from 'zeromq';
import { startCli } from '../helpers/cli.js';
import { serverJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { encodeMedia } from '../../src/savant/media.js';
import { buildMessage, inspectMessage } from '../../src/savant/message.js';
import { writerSocketsReplacedTotal } from '../../src/metrics/registry.js';
import { post } from '../server/http-client.js';
import { openWriter, writerCfg } from './harness.js';

const b = (s: string) => Buffer.from(s);
const frame = (seq: bigint) => buildMessage({ content: 'video_frame', sourceId: 'cam', seqId: seq });
const replaced = async (type: string) =>
  (await writerSocketsReplacedTotal.get()).values.find((v) => v.labels.type === type)?.value ?? 0;
const eos = (seq: bigint) => buildMessage({ content: 'end_of_stream', sourceId: 'cam', seqId: seq });
// well above libzmq's 100 ms reconnect interval, so that a fresh socket reaches a sink that is back in time
const acks = { receiveTimeoutMs: 500, receiveRetries: 0 };

/**
 * A rep sink bound at `url` that acknowledges every request and records its seqId, in arrival order. It
 * answers every request (not only the first): under load an answer can come after the writer's short
 * receive timeout, and a sink that stopped answering would then leave every later send timing out.
 */
async function acknowledgingSink(t: TestContext, url: string): Promise<bigint[]> {
  const sink = new zmq.Reply({ linger: 0 });
  await sink.bind(url);
  const seen: bigint[] = [];
  const serving = (async () => {
    for await (const [, msg] of sink) {
      seen.push(inspectMessage(msg).seqId);
      await sink.send(b('OK'));
    }
  })().catch(() => undefined); // ends when the socket is closed
  t.after(async () => {
    sink.close();
    await serving;
  });
  return seen;
}

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

  const seen = await acknowledgingSink(t, url);
  // the fresh socket may need a reconnect interval to find the sink, and under load an answer may come
  // after the 200 ms timeout: send the next one until one is acknowledged
  let acked = 2n;
  const deadline = Date.now() + 30_000;
  for (; ; acked++) {
    const res = await writer.send(b('cam'), frame(acked), [], false);
    if (res.kind === 'ack') break;
    assert.equal(res.kind, 'ack_timeout');
    assert.ok(Date.now() < deadline, 'the sink is reached within a few reconnect intervals');
  }
  assert.ok(
    !seen.includes(1n),
    `the request that timed out while the sink was away never arrives (saw ${seen})`,
  );
  assert.equal(seen.at(-1), acked, 'the acknowledged request reached the sink');
});

test('dealer: an OK arriving after its EOS timed out is not taken as the ack of the next EOS', async (t) => {
  const url = `ipc://${path.join(await tempDir(t), 'sink')}`;
  const sink = new zmq.Router({ linger: 0, receiveTimeout: 20_000 });
  t.after(() => sink.close());
  await sink.bind(url);
  const writer = await openWriter(t, writerCfg(`dealer+connect:${url}`, acks));

  const replacedBefore = await replaced('dealer');
  const first = writer.send(b('cam'), eos(1n), [], true);
  const [firstPeer] = await sink.receive();
  assert.equal((await first).kind, 'ack_timeout');
  assert.equal((await replaced('dealer')) - replacedBefore, 1, 'the replacement is counted');
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

  const sink = new zmq.Router({ linger: 0, receiveTimeout: 20_000 });
  t.after(() => sink.close());
  await sink.bind(url);
  assert.equal((await writer.send(b('cam'), frame(2n), [], false)).kind, 'success');
  const [, , msg] = await sink.receive();
  assert.equal(inspectMessage(msg).seqId, 2n, 'the timed-out EOS (seq 1) never arrives');
});

test('gateway server with a req writer: the request answered 502 never reaches the sink when it comes back', async (t) => {
  const dir = await tempDir(t);
  const url = `ipc://${path.join(dir, 'sink')}`;
  const port = await freePort();
  const file = path.join(dir, 'server.json');
  const ms200 = { secs: 0, nanos: 200_000_000 };
  await writeFile(
    file,
    serverJson({ port }, { url: `req+connect:${url}`, receive_timeout: ms200, receive_retries: 0 }),
  );
  const cli = startCli(t, ['server', file]);
  await cli.waitForOutput(/listening on/);
  const postSeq = async (seq: bigint) =>
    (await post(`http://127.0.0.1:${port}/`, encodeMedia({ message: frame(seq), topic: b('cam'), data: [] })))
      .status;
  assert.equal(await postSeq(1n), 502);

  const seen = await acknowledgingSink(t, url);
  let accepted = 2n;
  const deadline = Date.now() + 30_000;
  for (; ; accepted++) {
    const status = await postSeq(accepted);
    if (status === 200) break;
    assert.equal(status, 502);
    assert.ok(Date.now() < deadline, 'the sink is reached within a few reconnect intervals');
  }
  assert.ok(
    !seen.includes(1n),
    `the request answered 502 while the sink was away never arrives (saw ${seen})`,
  );
  assert.equal(seen.at(-1), accepted, 'the request answered 200 reached the sink');
});
