// The whole benchmark: plan the runs, create the PKI once, run each in turn, evaluate targets.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makePki, type DemoPki } from '../pki/index.js';
import { formatSize, type BenchOptions } from './options.js';
import type { BenchReport } from './report.js';
import { measureFloor, measureRateFloor, type FloorResult, type RateFloor } from './floor.js';
import { queueLength } from './configs.js';
import {
  fillRatios,
  needsPki,
  planFixedRateRuns,
  planRuns,
  runOne,
  type RunResult,
  type RunSpec,
} from './runner.js';
import { measureSpoolReplay, type SpoolReplayResult } from './spool-replay.js';
import { IDLE_SECONDS, IDLE_SETTLE_S, measureIdle, type IdleResult } from './idle.js';
import { evaluateTargets, fmt, latencyComparison } from './targets.js';
import { cpuPerMessageUs } from './telemetry.js';

export interface TelemetryComparison {
  mode: string;
  sizeBytes: number;
  /** client + server CPU per delivered message, µs, tracing off / on (null: that run is missing or failed) */
  offUs: number | null;
  onUs: number | null;
  /** onUs / offUs */
  ratio: number | null;
}

/** Pairs each traced matrix run with its untraced twin (same mode and size). */
function telemetryComparison(results: RunResult[]): TelemetryComparison[] {
  const matrix = results.filter((r) => r.purpose === 'matrix' && r.transport !== null && !r.failed);
  return matrix
    .filter((r) => r.telemetry)
    .map((on) => {
      const off = matrix.find((r) => !r.telemetry && r.mode === on.mode && r.sizeBytes === on.sizeBytes);
      const onUs = cpuPerMessageUs(on);
      const offUs = off ? cpuPerMessageUs(off) : null;
      return {
        mode: on.mode,
        sizeBytes: on.sizeBytes,
        offUs,
        onUs,
        ratio: onUs !== null && offUs ? onUs / offUs : null,
      };
    });
}

const fmtUs = (v: number | null) => (v === null ? '-' : v.toFixed(1));

/** The spool-replay extra replays a spool of this size (the RSS target is stated for 1 GiB). */
const REPLAY_BYTES = 1024 * 1024 * 1024;

/** The floor is measured at the size of the `bytes-1m` target. */
const FLOOR_SIZE = 1024 * 1024;

/** CPU per message, largest event-loop delay and full GCs of each half, for the progress lines. */
function halfFigures(r: RunResult): string {
  return (['client', 'server'] as const)
    .map((k) => {
      const h = r[k];
      if (!h) return '';
      const p = h.probe;
      const name = r.mode === 'relay' ? { client: 'relay-in', server: 'relay-out' }[k] : k;
      return (
        `; ${name} ${fmt(h.cpuUsPerMsg)} µs/msg` +
        (p ? `, loop ${fmt(p.maxLoopDelayMs)} ms, ${p.fullGcs} full GCs` : '') +
        `, rss ${fmt(h.peakRssMiB)} MiB` +
        (p?.memory
          ? ` (heap ${fmt(p.memory.heapUsed)}, external ${fmt(p.memory.external)}, array buffers ${fmt(p.memory.arrayBuffers)})`
          : '')
      );
    })
    .join('');
}

export async function runBenchmark(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const runs = planRuns(options);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'media-gateway-bench-'));
  try {
    let pki: DemoPki | undefined;
    const floorWanted = options.extras.includes('floor');
    if (needsPki(runs) || floorWanted || options.extras.includes('idle')) {
      progress('creating a CA, server and client certificates and a hash directory with CRL (our PKI code)');
      pki = await makePki(path.join(dir, 'pki'));
    }
    let profileDir: string | undefined;
    if (options.profile) {
      profileDir = path.resolve(options.profileDir);
      await mkdir(profileDir, { recursive: true });
    }
    const results: RunResult[] = [];
    const runAll = async (specs: RunSpec[], label: string): Promise<void> => {
      for (const [i, spec] of specs.entries()) {
        const rate = spec.purpose === 'fixed-rate' ? ` at ${spec.rate} msg/s` : '';
        progress(`[${label}${i + 1}/${specs.length}] ${spec.name} ${formatSize(spec.sizeBytes)}${rate} ...`);
        const r = await runOne(spec, { dir, pki, drainTimeoutS: options.drainTimeoutS, profileDir });
        progress(
          r.failed
            ? `    FAILED: ${r.failures.join('; ')}`
            : `    ${fmt(r.msgPerS)} msg/s, ${fmt(r.mbPerS)} MB/s, p99 ${r.latencyMs.p99.toFixed(2)} ms` +
                halfFigures(r),
        );
        results.push(r);
      }
    };
    await runAll(runs, '');
    fillRatios(results);
    const fixedRate: RateFloor[] = [];
    if (options.extras.includes('fixed-rate')) {
      const specs = planFixedRateRuns(options, results);
      if (specs.length === 0) progress('fixed-rate: skipped, no successful mtls run to take 40% of');
      await runAll(specs, 'fixed-rate ');
      for (const spec of specs.filter((x) => x.mode === 'mtls')) {
        progress(`fixed-rate floor: bare pumps at ${formatSize(spec.sizeBytes)}, ${spec.rate} msg/s ...`);
        fixedRate.push(
          await measureRateFloor({
            dir,
            pki: pki!,
            sizeBytes: spec.sizeBytes,
            hwm: queueLength(spec.sizeBytes),
            seconds: options.seconds,
            rate: spec.rate!,
          }),
        );
      }
    }
    const telemetry = options.telemetry === 'off' ? null : telemetryComparison(results);
    for (const c of telemetry ?? []) {
      progress(
        `telemetry ${c.mode} ${formatSize(c.sizeBytes)}: client+server CPU per message ${fmtUs(c.offUs)} µs off, ${fmtUs(c.onUs)} µs on` +
          (c.ratio !== null ? `, ratio ${c.ratio.toFixed(2)}` : ''),
      );
    }
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
    let idle: IdleResult | null = null;
    if (options.extras.includes('idle')) {
      progress(
        `idle: both halves (mtls) with no traffic, CPU over ${IDLE_SECONDS} s after ${IDLE_SETTLE_S} s ...`,
      );
      idle = await measureIdle({ dir, pki: pki! });
      progress(
        `    client ${fmt(idle.clientCpuMsPerS)} ms CPU/s, server ${fmt(idle.serverCpuMsPerS)} ms CPU/s`,
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
      fixedRate,
      spoolReplay,
      idle,
      telemetry,
      targets: evaluateTargets(results, floor, spoolReplay, fixedRate),
      failed: results.some((r) => r.failed) || (spoolReplay?.failures.length ?? 0) > 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
