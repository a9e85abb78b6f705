// The idle extra: both halves started as for an mtls run (real processes, certificates from our PKI code),
// no traffic, each half's CPU per second read from /proc; started without the benchmark's probe, whose own
// sampling would be most of an idle half's cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { makePki } from '../../src/pki/index.js';
import { measureIdle } from '../../src/bench/idle.js';
import { startGatewayProcess } from '../../src/bench/process.js';
import { serverConfig } from '../../src/bench/configs.js';
import { formatTable, type BenchReport } from '../../src/bench/report.js';
import { freePort } from '../../src/util/index.js';
import { tempDir } from '../helpers/tmp.js';

test('measureIdle reads both halves’ CPU over the window, then stops them', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  const idle = await measureIdle({ dir, pki, settleS: 0.2, seconds: 1 });
  assert.equal(idle.seconds, 1);
  for (const v of [idle.clientCpuMsPerS, idle.serverCpuMsPerS])
    assert.ok(Number.isFinite(v) && v >= 0, `CPU per second: ${v}`);
  assert.deepEqual(await processesNaming(dir), [], 'no half left running');
});

/** Processes whose command line names `dir` (the halves' configuration files are in it). */
async function processesNaming(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) found.push(cmdline.replace(/\0/g, ' '));
  }
  return found;
}

test('a half started without the probe answers no probe; with it, it does', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'server.json');
  const sinkUrl = `ipc://${path.join(dir, 'sink.ipc')}`;
  await writeFile(
    file,
    JSON.stringify(serverConfig({ port: await freePort(), sinkUrl, frameBytes: 1024, transport: 'http' })),
  );
  const bare = await startGatewayProcess('server', file, { probe: false });
  t.after(() => bare.stop());
  assert.equal(await bare.probe(), null);
  await bare.stop();
  const probed = await startGatewayProcess('server', file);
  t.after(() => probed.stop());
  assert.ok(await probed.probe(), 'the default start preloads the probe');
});

test('a half that cannot start fails measureIdle with its reason', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  const broken = { ...pki, serverKey: path.join(dir, 'missing.key') };
  await assert.rejects(measureIdle({ dir, pki: broken, settleS: 0, seconds: 1 }), /server/);
});

test('the report prints the idle figures', () => {
  const table = formatTable({
    runs: [],
    latency: null,
    targets: [],
    idle: { seconds: 10, clientCpuMsPerS: 2, serverCpuMsPerS: 4.5 },
  } as unknown as BenchReport);
  assert.match(table, /idle \(mtls, no traffic, 10 s\): client 2\.00 ms CPU\/s, server 4\.50 ms CPU\/s/);
});
