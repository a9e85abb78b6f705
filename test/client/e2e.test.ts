// The client against the real gateway server (src/server), with a real Savant sink behind it:
// source → client (batch transport, several lanes) → server → sink, per-topic order and bytes kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { buildMessage } from '../../src/savant/message.js';
import { gateway, nextMessage, serverConfig, sink, writerConfig } from '../server/fixtures.js';
import { clientSetup, range, runClient, source, waitUntil } from './fixtures.js';

test('source → client → server → sink: every message of every topic, in order, byte for byte', async (t) => {
  const { cfg, endpoint, dir } = await clientSetup(t, 'http://127.0.0.1:1', {
    transport: { mode: 'auto', lanes: 4 },
  });
  const out = `ipc://${path.join(dir, 'out')}`;
  const reader = await sink(t, `router+bind:${out}`);
  const server = await gateway(t, serverConfig(writerConfig(`dealer+connect:${out}`)));
  cfg.url = server.url;
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);

  const topics = ['cam-a', 'cam-b', 'cam-c'];
  const sent = new Map<string, Buffer[]>(topics.map((tp) => [tp, []]));
  for (const seq of range(20)) {
    for (const tp of topics) {
      const message = Buffer.from(buildMessage({ content: 'video_frame', sourceId: tp, seqId: BigInt(seq) }));
      sent.get(tp)!.push(message);
      await dealer.send(Buffer.from(tp), message, [Buffer.from(seq)], false);
    }
  }
  for (const tp of topics) {
    const eos = Buffer.from(buildMessage({ content: 'end_of_stream', sourceId: tp }));
    sent.get(tp)!.push(eos);
    assert.equal((await dealer.send(Buffer.from(tp), eos, [], true)).kind, 'ack');
  }

  const received = new Map<string, Buffer[]>(topics.map((tp) => [tp, []]));
  for (let i = 0; i < 63; i++) {
    const m = await nextMessage(reader);
    received.get(m.topic.toString())!.push(Buffer.from(m.message));
    if (m.info.content !== 'end_of_stream') assert.equal(m.data.length, 1);
  }
  for (const tp of topics) assert.deepEqual(received.get(tp), sent.get(tp), `topic ${tp}`);
  // the server answers after the sink has the message, so the client's count may trail a moment
  await waitUntil(() => client.stats().delivered === 63, 'all delivered');
  assert.equal(client.stats().retries, 0);
});
