// The whole benchmark: plan the runs, create the PKI once, run each in turn, evaluate targets.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makePki } from '../pki/index.js';
import { formatSize, type BenchOptions } from './options.js';
import type { BenchReport } from './report.js';
import { measureFloor, type FloorResult } from './floor.js';
import { queueLength } from './configs.js';
import { fillRatios, needsPki, planRuns, runOne, type RunResult } from './runner.js';
import { measureSpoolReplay, type SpoolReplayResult } from './spool-replay.js';
import { evaluateTargets, fmt, latencyComparison } from './targets.js';

/** The spool-replay extra replays a spool of this size (the RSS target is stated for 1 GiB). */
const REPLAY_BYTES = 1024 * 1024 * 1024;

/** The floor is measured at the size of the `bytes-1m` target. */
const FLOOR_SIZE = 1024 * 1024;

export async function runBenchmark(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const runs = planRuns(options);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'media-gateway-bench-'));
  try {
    let pki;
    const floorWanted = options.extras.includes('floor');
    if (needsPki(runs) || floorWanted) {
      progress('creating a CA, server and client certificates and a hash directory with CRL (our PKI code)');
      pki = await makePki(path.join(dir, 'pki'));
    }
    let profileDir: string | undefined;
    if (options.profile) {
      profileDir = path.resolve(options.profileDir);
      await mkdir(profileDir, { recursive: true });
    }
    const results: RunResult[] = [];
    for (const [i, spec] of runs.entries()) {
      progress(`[${i + 1}/${runs.length}] ${spec.name} ${formatSize(spec.sizeBytes)} ...`);
      const r = await runOne(spec, { dir, pki, drainTimeoutS: options.drainTimeoutS, profileDir });
      progress(
        r.failed
          ? `    FAILED: ${r.failures.join('; ')}`
          : `    ${fmt(r.msgPerS)} msg/s, ${fmt(r.mbPerS)} MB/s, p99 ${r.latencyMs.p99.toFixed(2)} ms`,
      );
      results.push(r);
    }
    fillRatios(results);
    let floor: FloorResult | null = null;
    if (floorWanted) {
      progress(`floor: bare ZeroMQ, TLS and HTTP pumps at ${formatSize(FLOOR_SIZE)} ...`);
      floor = await measureFloor({
        dir,
        pki: pki!,
        sizeBytes: FLOOR_SIZE,
        hwm: queueLength(FLOOR_SIZE),
        seconds: options.seconds,
      });
      progress(`    ceiling for the gateway path: ${fmt(floor.ceilingMBPerS)} MB/s`);
    }
    let spoolReplay: SpoolReplayResult | null = null;
    if (options.extras.includes('spool-replay')) {
      progress('spool-replay: 1 GiB of 1 MiB frames spooled with the server away, then replayed ...');
      spoolReplay = await measureSpoolReplay({ dir, totalBytes: REPLAY_BYTES });
      progress(
        `    replayed ${spoolReplay.delivered} messages at ${fmt(spoolReplay.replayMBPerS)} MB/s, client peak RSS ${fmt(spoolReplay.peakRssMiB)} MiB` +
          (spoolReplay.failures.length ? ` FAILED: ${spoolReplay.failures.join('; ')}` : ''),
      );
    }
    return {
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      host: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` },
      options,
      runs: results,
      latency: latencyComparison(results),
      floor,
      spoolReplay,
      targets: evaluateTargets(results, floor, spoolReplay),
      failed: results.some((r) => r.failed) || (spoolReplay?.failures.length ?? 0) > 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
