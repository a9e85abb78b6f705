// Smoke test of `media-gateway bench` through the built CLI: a tiny run (1 s, 1 KiB, direct and
// plain HTTP) over real ZeroMQ sockets and real client/server child processes exits 0 and writes
// a JSON report and an SVG chart with the expected shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('bench with tiny settings exits 0 and writes valid JSON and SVG', async (t) => {
  const dir = await tempDir(t);
  const json = path.join(dir, 'out', 'bench.json');
  const svg = path.join(dir, 'out', 'bench.svg');
  const res = await runCli(
    ['bench', '--seconds', '1', '--sizes', '1k', '--modes', 'direct,http', '--json', json, '--svg', svg],
    { timeoutMs: 150_000 },
  );
  assert.equal(res.code, 0, `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  assert.match(res.stdout, /targets \(https with client certificates\)/);

  const report = JSON.parse(await readFile(json, 'utf8'));
  for (const key of [
    'version',
    'startedAt',
    'finishedAt',
    'host',
    'options',
    'runs',
    'latency',
    'targets',
    'failed',
  ]) {
    assert.ok(key in report, `missing key ${key}`);
  }
  assert.equal(report.failed, false);
  assert.deepEqual(
    report.runs.map((r: { name: string; sizeBytes: number }) => [r.name, r.sizeBytes]),
    [
      ['direct', 1024],
      ['http', 1024],
    ],
  );
  for (const r of report.runs) {
    assert.ok(r.sent > 0, `${r.name}: nothing sent`);
    assert.equal(r.unique, r.sent, `${r.name}: every message arrives`);
    assert.equal(r.lost + r.duplicates + r.misordered, 0);
    assert.ok(r.msgPerS > 0 && r.mbPerS > 0);
    for (const k of ['p50', 'p99', 'max']) assert.equal(typeof r.latencyMs[k], 'number');
  }
  const [direct, http] = report.runs;
  assert.equal(direct.client, null, 'direct has no gateway processes');
  for (const half of [http.client, http.server]) {
    assert.ok(half.cpuS > 0 && half.peakRssMiB > 0 && half.pid > 0);
    assert.ok(half.cpuUsPerMsg > 0, 'CPU per message after the warm-up');
    assert.ok(half.probe, 'the probe preloaded into each half answered');
    assert.ok(half.probe.maxLoopDelayMs >= 0 && Number.isInteger(half.probe.fullGcs));
  }
  assert.ok(http.ratio.direct > 0, 'http throughput is given relative to direct');
  assert.equal(http.ratio.oneInFlight, null, 'no one-in-flight run to compare with');
  assert.deepEqual(
    report.targets.map((x: { id: string }) => x.id),
    [
      'throughput-1k',
      'bytes-1m',
      'added-p99',
      'peak-rss',
      'spool-1k',
      'spool-64k',
      'spool-1m',
      'spool-replay-rss',
      'fixed-rate-cpu',
      'tail-ratio',
      'tail-added-p99',
      'saturation-http',
      'saturation-tls',
    ],
  );
  assert.equal(report.targets.find((x: { id: string }) => x.id === 'peak-rss').status !== 'n/a', true);

  const chart = await readFile(svg, 'utf8');
  assert.match(chart, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(chart, /<\/svg>\n$/);
});

test('a relay run delivers every message in order through the two relay children and prints its reference line', async (t) => {
  const dir = await tempDir(t);
  const json = path.join(dir, 'bench.json');
  const res = await runCli(
    [
      'bench',
      '--seconds',
      '1',
      '--sizes',
      '1m',
      '--modes',
      'relay',
      '--json',
      json,
      '--svg',
      path.join(dir, 'b.svg'),
    ],
    { timeoutMs: 150_000 },
  );
  assert.equal(res.code, 0, `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  const report = JSON.parse(await readFile(json, 'utf8'));
  assert.equal(report.runs.length, 1);
  const [relay] = report.runs;
  assert.equal(relay.mode, 'relay');
  assert.ok(relay.sent > 0, 'something was sent');
  assert.equal(relay.unique, relay.sent, 'every message arrives');
  assert.equal(relay.lost + relay.duplicates + relay.misordered + relay.unexpected, 0);
  for (const half of [relay.client, relay.server]) {
    assert.ok(half.cpuUsPerMsg > 0 && half.peakRssMiB > 0, 'CPU and RSS of each relay child');
    assert.ok(half.probe, 'the probe preloaded into each relay child answered');
  }
  assert.match(
    res.stdout,
    /reference: bare relay \(no gateway code\) [\d.]+ MB\/s; CPU ms\/MiB relay-in\/relay-out [\d.]+\/[\d.]+/,
  );
  assert.match(res.stderr, /relay-in [\d.]+ µs\/msg, loop/, 'the progress line names the children');
});

test('bench rejects bad options with exit 2 and a clear message', async () => {
  const bad = await runCli(['bench', '--sizes', '1x'], { timeoutMs: 60_000 });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid size '1x'/);
  const mode = await runCli(['bench', '--modes', 'ftp'], { timeoutMs: 60_000 });
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--modes: unknown value 'ftp'/);
  const help = await runCli(['bench', '--help'], { timeoutMs: 60_000 });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--slow-sink MS/);
});
