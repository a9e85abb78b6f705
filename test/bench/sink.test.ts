// The benchmark sink's checks, fed over real ZeroMQ sockets (dealer → router over ipc) with frames
// crafted to be out of order, duplicated and missing, and the FAILED marking that follows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SavantReader } from '../../src/savant/reader.js';
import { SavantWriter } from '../../src/savant/writer.js';
import { buildMessage } from '../../src/savant/message.js';
import { HEADER_BYTES, Sink } from '../../src/bench/traffic.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

function frame(size: number, seq: number, topicIndex: number, stamp = performance.now()): Buffer {
  const f = Buffer.alloc(size);
  f.writeDoubleLE(stamp, 0);
  f.writeUInt32LE(seq, 8);
  f.writeUInt32LE(topicIndex, 12);
  return f;
}

test('sink counts misorder, duplicates, loss and unexpected frames per topic', async (t) => {
  const dir = await tempDir(t);
  const url = `ipc://${path.join(dir, 'sink.ipc')}`;
  const reader = await SavantReader.open({
    url: `router+bind:${url}`,
    receiveTimeoutMs: 200,
    receiveHwm: 100,
    topicPrefixSpec: { kind: 'none' },
    sourceCacheSize: 10,
    inflightOps: 10,
    ack: 'on_read',
  });
  const size = 64;
  const sink = new Sink(reader, ['a', 'b'], { size });
  sink.start();
  t.after(() => sink.close());
  const writer = await SavantWriter.open({
    url: `dealer+connect:${url}`,
    sendTimeoutMs: 1000,
    sendRetries: 0,
    receiveTimeoutMs: 200,
    receiveRetries: 0,
    sendHwm: 100,
    receiveHwm: 100,
  });
  t.after(() => writer.close());
  const msgA = buildMessage({ content: 'video_frame', sourceId: 'a' });
  const msgB = buildMessage({ content: 'video_frame', sourceId: 'b' });
  const A = Buffer.from('a');
  const B = Buffer.from('b');
  // topic a: 0, 2, 1, 1 → out of order twice (both 1s come after 2), one duplicate;
  // topic b: 0, 1, 3 → seq 2 never arrives. In between, a frame of the wrong size and an unknown topic.
  for (const seq of [0, 2, 1, 1]) {
    assert.equal((await writer.send(A, msgA, [frame(size, seq, 0)], false)).kind, 'success');
  }
  for (const seq of [0, 1]) await writer.send(B, msgB, [frame(size, seq, 1)], false);
  await writer.send(B, msgB, [frame(size + 1, 5, 1)], false);
  await writer.send(Buffer.from('zzz'), msgB, [frame(size, 0, 0)], false);
  await writer.send(B, msgB, [frame(size, 3, 1)], false);

  // One connection keeps order: once b's seq 3 is in (6 distinct), everything before it was read.
  assert.equal(await sink.waitForAll(6, 5000), true);
  const c = sink.snapshot();
  assert.equal(c.received, 7);
  assert.equal(c.unique, 6);
  assert.equal(c.duplicates, 1);
  assert.equal(c.misordered, 2);
  assert.equal(c.unexpected, 2);
  assert.equal(sink.latencyMs.count, 7);
  // The source sent 7 distinct messages: the sink never completes, which the runner reports as loss.
  assert.equal(await sink.waitForAll(7, 200), false);
  assert.ok(HEADER_BYTES <= size);
});

test('a run that does not drain is marked FAILED and the command exits 1', async (t) => {
  const dir = await tempDir(t);
  // The sink sleeps 20 ms per message and may wait only 0.1 s after the source stops: it cannot have
  // everything. 1 MiB frames keep the queues short (16 messages per high-water mark), so the run is quick.
  const res = await runCli(
    [
      'bench',
      '--seconds',
      '0.3',
      '--sizes',
      '1m',
      '--modes',
      'direct',
      '--slow-sink',
      '20',
      '--drain-timeout',
      '0.1',
      '--json',
      path.join(dir, 'b.json'),
      '--svg',
      path.join(dir, 'b.svg'),
    ],
    { timeoutMs: 150_000 },
  );
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout, /direct \(sink 20ms\)\s.*FAILED/);
  assert.match(
    res.stdout,
    /FAILED direct \(sink 20ms\) 1 MiB: drain timeout: \d+ of \d+ after 0.1 s; \d+ lost/,
  );
});
