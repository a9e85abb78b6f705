// The run plan: which runs the options produce, and that only the latency runs get the long warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs } from '../../src/bench/options.js';
import { LATENCY_WARMUP_S, planRuns } from '../../src/bench/runner.js';

test('latency runs warm up for LATENCY_WARMUP_S before their measured seconds; matrix runs use the default', () => {
  const options = parseBenchArgs([
    '--seconds',
    '3',
    '--sizes',
    '1k',
    '--modes',
    'mtls',
    '--extras',
    'latency',
  ]);
  assert.ok(options);
  const runs = planRuns(options);
  assert.deepEqual(
    runs.map((r) => [r.name, r.seconds, r.warmupS]),
    [
      ['mtls', 3, undefined],
      ['latency-mtls', 3, LATENCY_WARMUP_S],
      ['latency-direct', 3, LATENCY_WARMUP_S],
    ],
  );
  assert.ok(LATENCY_WARMUP_S >= 1.5, 'longer than the start-up transient that was measured');
});

test('the bare relay runs untraced only: it has no gateway to trace', () => {
  const options = parseBenchArgs(['--sizes', '1k', '--modes', 'relay,mtls', '--telemetry', 'both']);
  assert.ok(options);
  assert.deepEqual(
    planRuns(options).map((r) => r.name),
    ['relay', 'mtls', 'mtls+otel'],
  );
});
