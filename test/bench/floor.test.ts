// The floor measurement: bare ZeroMQ and TLS pumps in child processes (real sockets, real mutual TLS
// with certificates from our PKI code), the ceiling formula, and the report lines built from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { makePki } from '../../src/pki/index.js';
import { gatewayCeiling, measureFloor, type FloorResult } from '../../src/bench/floor.js';
import { parseBenchArgs } from '../../src/bench/options.js';
import { formatTable, type BenchReport } from '../../src/bench/report.js';
import { evaluateTargets } from '../../src/bench/targets.js';
import type { RunResult } from '../../src/bench/runner.js';
import { tempDir } from '../helpers/tmp.js';

test('the ceiling counts two ZeroMQ hops and one TLS hop against every core', () => {
  const zeromq = { mibPerS: 1, sendCpuMsPerMiB: 0.2, receiveCpuMsPerMiB: 0.3 };
  const tls = { mibPerS: 1, sendCpuMsPerMiB: 0.5, receiveCpuMsPerMiB: 0.5 };
  const c = gatewayCeiling(zeromq, tls, 2);
  assert.ok(Math.abs(c.cpuMsPerMiB - 2.0) < 1e-9, `2 × 0.5 + 1.0 = 2.0, got ${c.cpuMsPerMiB}`);
  // 2 cores / 2 ms per MiB = 1000 MiB/s = 1048.576 MB/s
  assert.ok(Math.abs(c.mbPerS - 1048.576) < 1e-6, `got ${c.mbPerS}`);
});

test('measureFloor pumps bytes through real ZeroMQ, mutual TLS, HTTP/1.1 and HTTP/2 and reports CPU per MiB', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  const f = await measureFloor({ dir, pki, sizeBytes: 64 * 1024, hwm: 16, seconds: 0.5, cores: 2 });
  for (const [name, p] of [
    ['zeromq', f.zeromq],
    ['tls', f.tls],
    ['http1', f.http1],
    ['h2', f.h2],
  ] as const) {
    assert.ok(p.mibPerS > 1, `${name}: moved ${p.mibPerS} MiB/s`);
    assert.ok(p.sendCpuMsPerMiB > 0 && Number.isFinite(p.sendCpuMsPerMiB), `${name} send cpu`);
    assert.ok(p.receiveCpuMsPerMiB > 0 && Number.isFinite(p.receiveCpuMsPerMiB), `${name} receive cpu`);
  }
  const again = gatewayCeiling(f.zeromq, f.tls, 2);
  assert.equal(f.gatewayPathCpuMsPerMiB, again.cpuMsPerMiB);
  assert.equal(f.ceilingMBPerS, again.mbPerS);
  const overHttp = gatewayCeiling(f.zeromq, f.http1, 2);
  assert.equal(f.httpCeilingMBPerS, overHttp.mbPerS);
  assert.ok(f.httpPathCpuMsPerMiB > 0);
});

test('a pump that cannot start fails with the child and its reason', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  const broken = { ...pki, serverKey: path.join(dir, 'missing.key') };
  await assert.rejects(
    measureFloor({ dir, pki: broken, sizeBytes: 4096, hwm: 16, seconds: 0.2 }),
    /floor tls-server exited with 1: .*missing\.key/s,
  );
});

test('floor is one of the default extras and can be asked for alone', () => {
  assert.ok(parseBenchArgs([])!.extras.includes('floor'));
  assert.deepEqual(parseBenchArgs(['--modes', 'mtls', '--extras', 'floor'])!.extras, ['floor']);
});

test('the report prints the floor and the 1 MiB target states the ceiling next to direct', () => {
  const floor: FloorResult = {
    sizeBytes: 1024 * 1024,
    cores: 2,
    zeromq: { mibPerS: 3000, sendCpuMsPerMiB: 0.2, receiveCpuMsPerMiB: 0.2 },
    tls: { mibPerS: 1500, sendCpuMsPerMiB: 0.5, receiveCpuMsPerMiB: 0.6 },
    http1: { mibPerS: 1000, sendCpuMsPerMiB: 0.9, receiveCpuMsPerMiB: 0.8 },
    h2: { mibPerS: 400, sendCpuMsPerMiB: 1.6, receiveCpuMsPerMiB: 1.4 },
    gatewayPathCpuMsPerMiB: 1.9,
    ceilingMBPerS: 1100,
    httpPathCpuMsPerMiB: 2.5,
    httpCeilingMBPerS: 800,
  };
  const run = (mode: string, mbPerS: number): RunResult =>
    ({
      purpose: 'matrix',
      mode,
      sizeBytes: 1024 * 1024,
      failed: false,
      mbPerS,
      msgPerS: mbPerS,
    }) as RunResult;
  const targets = evaluateTargets([run('mtls', 500), run('direct', 2000)], floor);
  const bytes = targets.find((x) => x.id === 'bytes-1m')!;
  assert.equal(bytes.status, 'MISS');
  assert.match(
    bytes.detail,
    /cap any gateway here at 1100 MB\/s = 55% of direct, one speaking HTTP\/1\.1 through undici and Node at 800 MB\/s = 40%/,
  );
  const report = { runs: [], latency: null, floor, targets } as unknown as BenchReport;
  const table = formatTable(report);
  assert.match(table, /ZeroMQ ipc dealer -> router: 3000 MiB\/s, CPU 0\.20 ms\/MiB sending \+ 0\.20/);
  assert.match(table, /Node TLS, client certificates: 1500 MiB\/s/);
  assert.match(table, /HTTP\/1\.1, 4 connections: 1000 MiB\/s, CPU 0\.90 ms\/MiB sending \+ 0\.80/);
  assert.match(table, /HTTP\/2, 4 streams on 1 connection: 400 MiB\/s/);
  assert.match(table, /1\.90 CPU ms\/MiB; on 2 cores at 100%: at most 1100 MB\/s/);
  assert.match(table, /middle hop = 2\.50 CPU ms\/MiB; at most 800 MB\/s/);
});
