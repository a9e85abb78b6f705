// Issue test 3: the spool fills (server away, 4 MiB spool, 64 KiB messages) under each when_full policy.
// The drop counters match exactly what the sink misses, end-of-stream messages all arrive, and `block`
// stops reading instead of dropping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import {
  endOfStream,
  health,
  layout,
  metricsText,
  numbered,
  openSource,
  sample,
  Sink,
  startClientProc,
  startServerProc,
  stop,
  until,
} from './harness.js';

const MESSAGES = 120;
const SIZE = 64 * 1024;
/** end-of-stream messages: one mid-stream on another topic, one at the end of each topic */
const EOS_COUNT = 3;
const dropped = (m: string, reason: string) =>
  sample(m, `media_gateway_spool_dropped_total{reason="${reason}"}`);
const read = (m: string) => sample(m, 'media_gateway_messages_total{side="client",outcome="read"}');
const REASONS = ['evicted_oldest', 'refused_full', 'refused_write_error', 'too_large'];
/** messages refused at the door (never stored, so not counted as read) */
const refused = (m: string) =>
  REASONS.filter((r) => r !== 'evicted_oldest').reduce((n, r) => n + dropped(m, r), 0);
const allDropped = (m: string) => REASONS.reduce((n, r) => n + dropped(m, r), 0);

async function fillWhileServerAway(t: { after(fn: () => unknown): void }, whenFull: string) {
  const dir = await tempDir(t, 'mg-spool-full-');
  const l = await layout(dir, {
    reader: 'router',
    inflightOps: 4,
    spool: { max_bytes: 4 * 1024 * 1024, when_full: whenFull },
  });
  const sink = await Sink.open(t, l.sinkEndpoint);
  const client = await startClientProc(t, l);
  const source = await openSource(t, 'dealer', l.sourceEndpoint, {
    receiveTimeoutMs: 5000,
    sendTimeoutMs: 5000,
  });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const m = numbered('cam-a', i, SIZE);
    sends.push(source.send(m.topic, m.message, m.data, false));
    if (i === MESSAGES / 2) {
      const eos = endOfStream('cam-b');
      sends.push(source.send(eos.topic, eos.message, [], true));
    }
  }
  for (const topic of ['cam-a', 'cam-b']) {
    const eos = endOfStream(topic);
    sends.push(source.send(eos.topic, eos.message, [], true));
  }
  return { l, sink, client, sends };
}

async function deliverAndCount(
  t: { after(fn: () => unknown): void },
  f: Awaited<ReturnType<typeof fillWhileServerAway>>,
) {
  await startServerProc(t, f.l);
  await until(
    () => metricsText(f.l.clientPort),
    (m) => sample(m, 'media_gateway_spool_messages') === 0,
    'an empty spool',
  );
  const metrics = await metricsText(f.l.clientPort);
  assert.equal(await stop(f.client), 0);
  const regular = f.sink.arrivals.filter((a) => !a.endOfStream).map((a) => a.seq);
  const eos = f.sink.arrivals.filter((a) => a.endOfStream).map((a) => a.topic);
  assert.deepEqual(eos.sort(), ['cam-a', 'cam-b', 'cam-b'], 'every end-of-stream message arrives');
  assert.deepEqual(
    regular,
    [...regular].sort((a, b) => a - b),
    'in order',
  );
  return { metrics, regular, missing: MESSAGES - new Set(regular).size };
}

for (const policy of ['drop_newest', 'drop_oldest'] as const) {
  test(
    `when_full ${policy}: drops are counted exactly, end-of-stream messages kept`,
    { timeout: 240_000 },
    async (t) => {
      const f = await fillWhileServerAway(t, policy);
      const reason = policy === 'drop_newest' ? 'refused_full' : 'evicted_oldest';
      // the client reads everything without blocking: each message is stored (maybe evicted later) or refused
      await until(
        () => metricsText(f.l.clientPort),
        (m) => read(m) + refused(m) === MESSAGES + EOS_COUNT,
        'every message read or refused',
      );
      const degraded = await health(f.l.clientPort);
      assert.equal(degraded.status, 'degraded');
      assert.match(degraded.reasons!.join(' '), /spool \d+% full/);
      const { metrics, regular, missing } = await deliverAndCount(t, f);
      assert.ok(missing > 30, `the spool really filled (${missing} dropped)`);
      assert.ok(dropped(metrics, reason) > 0, reason);
      assert.equal(allDropped(metrics), missing, 'the counters match what the sink misses');
      if (policy === 'drop_newest')
        assert.deepEqual(
          regular,
          regular.map((_, k) => k),
          'the oldest were kept',
        );
      else assert.equal(regular.at(-1), MESSAGES - 1, 'the newest were kept');
    },
  );
}

test(
  'when_full block: reading stops, nothing is dropped, everything arrives',
  { timeout: 240_000 },
  async (t) => {
    const f = await fillWhileServerAway(t, 'block');
    const stalled = await until(
      () => metricsText(f.l.clientPort),
      (m) => sample(m, 'media_gateway_spool_bytes') > 3.5 * 1024 * 1024,
      'a full spool',
    );
    assert.ok(read(stalled) < MESSAGES, `reading stopped at ${read(stalled)} messages`);
    const { metrics, missing } = await deliverAndCount(t, f);
    assert.equal(missing, 0);
    assert.equal(allDropped(metrics), 0);
    await Promise.all(f.sends);
  },
);
