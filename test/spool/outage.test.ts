// Issue test 1: the server is stopped for 20 s while a dealer source sends 5,000 numbered 1 KiB messages on
// four topics at 250/s. With a spool the client keeps reading (the source never blocks); once the server is
// back every message arrives, in order per topic, none twice. Takes ~25 s (20 s of it the outage itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import {
  layout,
  metricsText,
  numbered,
  openSource,
  sample,
  Sink,
  startClientProc,
  startServerProc,
  stop,
} from './harness.js';

const TOTAL = 5000;
const RATE = 250;
const TOPICS = ['cam-a', 'cam-b', 'cam-c', 'cam-d'];

test(
  'a 20 s server outage loses nothing and never blocks a dealer source',
  { timeout: 240_000 },
  async (t) => {
    const dir = await tempDir(t, 'mg-spool-outage-');
    const l = await layout(dir, { reader: 'router', spool: { max_bytes: 64 * 1024 * 1024 } });
    const sink = await Sink.open(t, l.sinkEndpoint);
    const server = await startServerProc(t, l);
    const client = await startClientProc(t, l);
    const source = await openSource(t, 'dealer', l.sourceEndpoint);

    // the server goes away before the first message and comes back once the source is done (20 s)
    assert.equal(await stop(server), 0);
    const started = performance.now();
    let worstLatenessMs = 0;
    const results: string[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      worstLatenessMs = Math.max(worstLatenessMs, performance.now() - due);
      const m = numbered(TOPICS[i % TOPICS.length], i, 1024);
      const r = await source.send(m.topic, m.message, m.data, false);
      results.push(r.kind);
    }
    const sendingMs = performance.now() - started;
    const spooled = sample(await metricsText(l.clientPort), 'media_gateway_spool_messages');
    await startServerProc(t, l);
    await sink.waitFor(TOTAL, 60_000);

    assert.deepEqual(new Set(results), new Set(['success']), 'every send went through at once');
    assert.ok(worstLatenessMs < 1000, `the source fell ${worstLatenessMs.toFixed(0)} ms behind its schedule`);
    assert.ok(sendingMs < (TOTAL / RATE) * 1000 + 1000, `sending took ${sendingMs.toFixed(0)} ms`);
    assert.ok(spooled > TOTAL * 0.9, `the spool held the outage's messages (${spooled})`);
    for (const topic of TOPICS) {
      const seqs = sink.arrivals.filter((a) => a.topic === topic).map((a) => a.seq);
      const expected = Array.from(
        { length: TOTAL / TOPICS.length },
        (_, k) => k * TOPICS.length + TOPICS.indexOf(topic),
      );
      assert.deepEqual(seqs, expected, `${topic}: every message once, in order`);
    }
    assert.equal(sink.arrivals.length, TOTAL, 'nothing twice');
    assert.equal(await stop(client), 0);
  },
);
