// The fixed-rate extra: its plan (40% of each size's mtls msg/s), the rate-matched bare pumps over real
// ZeroMQ, mutual TLS and HTTP/1.1, and the target lines and report rows made from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { makePki } from '../../src/pki/index.js';
import { halfFloorUs, measureRateFloor, type RateFloor } from '../../src/bench/floor.js';
import { parseBenchArgs } from '../../src/bench/options.js';
import { formatTable, type BenchReport } from '../../src/bench/report.js';
import {
  FIXED_RATE_SHARE,
  LATENCY_WARMUP_S,
  planFixedRateRuns,
  type HalfResult,
  type RunResult,
} from '../../src/bench/runner.js';
import { evaluateTargets } from '../../src/bench/targets.js';
import { tempDir } from '../helpers/tmp.js';

const KIB = 1024;

function run(over: Partial<RunResult>): RunResult {
  return {
    purpose: 'matrix',
    mode: 'mtls',
    sizeBytes: KIB,
    failed: false,
    msgPerS: 1000,
    mbPerS: 1,
    latencyMs: { count: 100, p50: 1, p99: 2, max: 3 },
    client: null,
    server: null,
    name: over.purpose === 'fixed-rate' ? `rate40-${over.mode ?? 'mtls'}` : (over.mode ?? 'mtls'),
    ratio: { direct: null, oneInFlight: null },
    sent: 100,
    lost: 0,
    duplicates: 0,
    misordered: 0,
    failures: [],
    ...over,
  } as RunResult;
}

function half(cpuUsPerMsg: number, probe: HalfResult['probe'] = null): HalfResult {
  return {
    pid: 1,
    cpuS: 1,
    peakRssMiB: 100,
    startupCpuS: 0.1,
    measuredCpuS: 0.5,
    cpuUsPerMsg,
    probe,
  };
}

test('fixed-rate runs take 40% of each size’s successful mtls run, mtls and direct, with the latency warm-up', () => {
  const o = parseBenchArgs(['--sizes', '1k,64k,1m', '--modes', 'mtls', '--extras', 'fixed-rate'])!;
  assert.ok(o.extras.includes('fixed-rate'));
  const matrix = [
    run({ sizeBytes: KIB, msgPerS: 40_000 }),
    run({ sizeBytes: 64 * KIB, msgPerS: 3001 }),
    run({ sizeBytes: KIB * KIB, msgPerS: 400, failed: true }),
  ];
  const plan = planFixedRateRuns(o, matrix);
  assert.equal(FIXED_RATE_SHARE, 0.4);
  assert.deepEqual(
    plan.map((r) => [r.name, r.mode, r.sizeBytes, r.rate, r.purpose, r.warmupS]),
    [
      ['rate40-mtls', 'mtls', KIB, 16_000, 'fixed-rate', LATENCY_WARMUP_S],
      ['rate40-direct', 'direct', KIB, 16_000, 'fixed-rate', LATENCY_WARMUP_S],
      ['rate40-mtls', 'mtls', 64 * KIB, 1200, 'fixed-rate', LATENCY_WARMUP_S],
      ['rate40-direct', 'direct', 64 * KIB, 1200, 'fixed-rate', LATENCY_WARMUP_S],
    ],
    'no run for 1 MiB: its mtls run failed',
  );
});

test('fixed-rate is a default extra and is left out when the matrix is chosen', () => {
  assert.ok(parseBenchArgs([])!.extras.includes('fixed-rate'));
  assert.deepEqual(parseBenchArgs(['--modes', 'mtls'])!.extras, []);
});

test('rate pumps move messages no faster than the asked rate through real ZeroMQ, mutual TLS and HTTP/1.1', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  const rate = 200;
  const sizeBytes = 4 * KIB;
  const f = await measureRateFloor({ dir, pki, sizeBytes, hwm: 16, seconds: 0.5, rate });
  assert.equal(f.rate, rate);
  const expectMiBs = (rate * sizeBytes) / (KIB * KIB);
  for (const [name, p] of [
    ['zeromq', f.zeromq],
    ['tls', f.tls],
    ['http1', f.http1],
  ] as const) {
    // paced: never far above the schedule (unpaced, these pumps move tens of MiB/s); a loaded machine may
    // lag behind it, so no lower bound
    assert.ok(
      p.mibPerS > 0 && p.mibPerS < expectMiBs * 3,
      `${name}: ${p.mibPerS} MiB/s, asked ${expectMiBs}`,
    );
    assert.ok(p.sendCpuUsPerMsg > 0 && Number.isFinite(p.sendCpuUsPerMsg), `${name} send cpu`);
    assert.ok(p.receiveCpuUsPerMsg > 0 && Number.isFinite(p.receiveCpuUsPerMsg), `${name} receive cpu`);
  }
});

const floor: RateFloor = {
  sizeBytes: 64 * KIB,
  rate: 1200,
  zeromq: { mibPerS: 75, sendCpuUsPerMsg: 20, receiveCpuUsPerMsg: 30 },
  tls: { mibPerS: 75, sendCpuUsPerMsg: 50, receiveCpuUsPerMsg: 60 },
  http1: { mibPerS: 75, sendCpuUsPerMsg: 100, receiveCpuUsPerMsg: 80 },
};

test('a half’s hops: the client receives from ZeroMQ and sends the middle hop, the server the reverse', () => {
  assert.equal(halfFloorUs(floor, 'client', 'http1'), 130);
  assert.equal(halfFloorUs(floor, 'server', 'http1'), 100);
  assert.equal(halfFloorUs(floor, 'client', 'tls'), 80);
  assert.equal(halfFloorUs(floor, 'server', 'tls'), 80);
});

test('fixed-rate CPU targets compare each half with its pumps (HTTP middle hop) and state the bare-TLS ratio', () => {
  const probe = {
    maxLoopDelayMs: 7.5,
    p99LoopDelayMs: 2,
    fullGcs: 3,
    minorGcs: 40,
    gcMs: 12,
    memory: { rss: 150, heapUsed: 20, external: 40, arrayBuffers: 40 },
  };
  const mtls = run({
    purpose: 'fixed-rate',
    sizeBytes: 64 * KIB,
    rate: 1200,
    latencyMs: { count: 100, p50: 2, p99: 7, max: 9 },
    client: half(160, probe),
    server: half(140, probe),
  });
  const direct = run({
    purpose: 'fixed-rate',
    mode: 'direct',
    sizeBytes: 64 * KIB,
    rate: 1200,
    latencyMs: { count: 100, p50: 1, p99: 1.5, max: 2 },
  });
  const targets = evaluateTargets([mtls, direct], null, null, [floor]);
  const cpu = targets.filter((t) => t.id === 'fixed-rate-cpu');
  assert.equal(cpu.length, 2);
  const [client, server] = cpu;
  assert.ok(Math.abs(client.measured! - 160 / 130) < 1e-9);
  assert.equal(client.status, 'PASS');
  assert.match(client.detail, /160 vs 130 µs\/msg at 1200 msg\/s; vs bare TLS 2\.00× \(80\.0 µs\/msg\)/);
  assert.ok(Math.abs(server.measured! - 1.4) < 1e-9);
  assert.equal(server.status, 'MISS');

  const ratio = targets.find((t) => t.id === 'tail-ratio')!;
  assert.equal(ratio.measured, 3.5);
  assert.equal(ratio.status, 'MISS');
  assert.match(ratio.detail, /client loop max 7\.50 ms, 3 full GCs, server loop max 7\.50 ms, 3 full GCs/);
  const added = targets.find((t) => t.id === 'tail-added-p99')!;
  assert.equal(added.measured, 5.5);
  assert.equal(added.status, 'MISS');

  const table = formatTable({
    runs: [mtls, direct],
    latency: null,
    fixedRate: [floor],
    targets,
  } as unknown as BenchReport);
  assert.match(table, /floor at 64 KiB, 1200 msg\/s \(bare pumps, CPU per message\):/);
  assert.match(
    table,
    /HTTP\/1\.1, one message per request, 4 in flight: 100 µs\/msg sending \+ 80\.0 µs\/msg receiving/,
  );
  assert.match(table, /MISS {2}p99 vs p50 at 64 KiB, 40% of mtls: 3\.50× \(target <= 3×/);
  assert.match(table, /PASS {2}client CPU\/msg at 64 KiB.*: 1\.23× \(target <= 1\.3×/);
  assert.match(table, /160\/140 +7\.50\/7\.50 +3\/3 /, 'per-half µs/msg, loop max and full GCs columns');
});

test('saturation targets set mtls 1 MiB against the floor’s HTTP/1.1 and bare-TLS bounds', () => {
  const m = run({ sizeBytes: KIB * KIB, mbPerS: 720 });
  const f = { ceilingMBPerS: 1000, httpCeilingMBPerS: 800 } as Parameters<typeof evaluateTargets>[1];
  const targets = evaluateTargets([m], f);
  const http = targets.find((t) => t.id === 'saturation-http')!;
  const tls = targets.find((t) => t.id === 'saturation-tls')!;
  assert.equal(http.measured, 0.9);
  assert.equal(http.status, 'PASS');
  assert.equal(tls.measured, 0.72);
  assert.equal(tls.status, 'PASS');
  const slower = evaluateTargets([run({ sizeBytes: KIB * KIB, mbPerS: 600 })], f);
  assert.equal(slower.find((t) => t.id === 'saturation-tls')!.status, 'MISS');
  const table = formatTable({ runs: [m], latency: null, targets } as unknown as BenchReport);
  assert.match(
    table,
    /PASS {2}mtls 1 MiB bytes\/s vs the HTTP\/1\.1 bound: 90% \(target >= 90% of bound; 720 vs 800 MB\/s\)/,
  );
});

test('with relay among the modes, each size’s fixed-rate runs include the bare relay at the same rate', () => {
  const o = parseBenchArgs(['--sizes', '64k', '--modes', 'relay,mtls', '--extras', 'fixed-rate'])!;
  const plan = planFixedRateRuns(o, [run({ sizeBytes: 64 * KIB, msgPerS: 2000 })]);
  assert.deepEqual(
    plan.map((r) => [r.name, r.mode, r.rate]),
    [
      ['rate40-mtls', 'mtls', 800],
      ['rate40-relay', 'relay', 800],
      ['rate40-direct', 'direct', 800],
    ],
  );
  assert.ok(parseBenchArgs([])!.modes.includes('relay'), 'relay is in the default matrix');
});

test('the bare relay’s figures are reference lines under the targets and change none of them', () => {
  const probe = {
    maxLoopDelayMs: 1.5,
    p99LoopDelayMs: 1,
    fullGcs: 0,
    minorGcs: 10,
    gcMs: 2,
    memory: { rss: 90, heapUsed: 10, external: 5, arrayBuffers: 5 },
  };
  const at64k = { purpose: 'fixed-rate' as const, sizeBytes: 64 * KIB, rate: 1200 };
  const mtls = run({
    ...at64k,
    latencyMs: { count: 100, p50: 2, p99: 7, max: 9 },
    client: half(160),
    server: half(140),
  });
  const direct = run({ ...at64k, mode: 'direct', latencyMs: { count: 100, p50: 1, p99: 1.5, max: 2 } });
  const relay = run({
    ...at64k,
    mode: 'relay',
    latencyMs: { count: 100, p50: 1.6, p99: 4, max: 5 },
    client: half(80, probe),
    server: half(100, probe),
  });
  const mtls1m = run({ sizeBytes: KIB * KIB, mbPerS: 200, client: half(3000), server: half(2500) });
  const relay1m = run({
    mode: 'relay',
    sizeBytes: KIB * KIB,
    mbPerS: 250,
    client: half(2000),
    server: half(1800),
  });
  const f = { ceilingMBPerS: 300, httpCeilingMBPerS: 200 } as Parameters<typeof evaluateTargets>[1];
  const without = evaluateTargets([mtls, direct, mtls1m], f, null, [floor]);
  const targets = evaluateTargets([mtls, direct, relay, mtls1m, relay1m], f, null, [floor]);
  const strip = (ts: typeof targets) => ts.map(({ reference: _, ...rest }) => rest);
  assert.deepEqual(
    strip(targets),
    strip(without),
    'the targets themselves are the same with or without the relay',
  );
  assert.ok(
    without.every((x) => x.reference === undefined),
    'no reference line without a relay run',
  );

  const byId = (id: string) => targets.filter((x) => x.id === id);
  assert.equal(
    byId('tail-ratio')[0].reference,
    'bare relay at 1200 msg/s: p50 1.60 ms, p99 4.00 ms = 2.50×; relay-in loop max 1.50 ms, 0 full GCs, relay-out loop max 1.50 ms, 0 full GCs',
  );
  assert.equal(
    byId('tail-added-p99')[0].reference,
    'bare relay: added p99 2.50 ms (p99 relay 4.00 ms - direct 1.50 ms)',
  );
  assert.equal(
    byId('saturation-tls')[0].reference,
    'bare relay (no gateway code) 250 MB/s = 83% of the bare-TLS bound; mtls = 80% of the relay; ' +
      'CPU ms/MiB relay-in/relay-out 2.00/1.80, mtls client/server 3.00/2.50',
  );
  const [client, server] = byId('fixed-rate-cpu');
  assert.equal(
    client.reference,
    'bare relay-in at 1200 msg/s: 80.0 µs/msg = 1.00× the bare-TLS pumps; client = 2.00× the relay',
  );
  assert.equal(
    server.reference,
    'bare relay-out at 1200 msg/s: 100 µs/msg = 1.25× the bare-TLS pumps; server = 1.40× the relay',
  );

  const table = formatTable({ runs: [], latency: null, targets } as unknown as BenchReport);
  assert.match(
    table,
    /MISS {2}p99 vs p50 at 64 KiB, 40% of mtls: 3\.50× \(target <= 3×;[^\n]*\)\n {8}reference: bare relay at 1200 msg\/s: p50 1\.60 ms, p99 4\.00 ms = 2\.50×/,
  );
  assert.match(table, /\n {8}reference: bare relay: added p99 2\.50 ms/);
  assert.match(
    table,
    /vs the bare-TLS bound: 67%[^\n]*\n {8}reference: bare relay \(no gateway code\) 250 MB\/s = 83%/,
  );
});
