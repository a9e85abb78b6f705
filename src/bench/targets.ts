// The performance targets (https with client certificates), evaluated on a run's results.
import { formatSize } from './options.js';
import { halfFloorUs, type FloorResult, type RateFloor } from './floor.js';
import type { RunResult } from './runner.js';
import type { SpoolReplayResult } from './spool-replay.js';

export interface TargetResult {
  id:
    | 'throughput-1k'
    | 'bytes-1m'
    | 'added-p99'
    | 'peak-rss'
    | 'spool-1k'
    | 'spool-64k'
    | 'spool-1m'
    | 'spool-replay-rss'
    | 'fixed-rate-cpu'
    | 'tail-ratio'
    | 'tail-added-p99'
    | 'saturation-http'
    | 'saturation-tls';
  description: string;
  /** the target value, in `unit` */
  target: number;
  measured: number | null;
  unit: string;
  /** whether `measured` must be at least or at most `target` */
  goal?: 'min' | 'max';
  status: 'PASS' | 'MISS' | 'n/a';
  /** which runs the figure comes from, or why it is missing */
  detail: string;
  /**
   * The same figure for the bare relay of the same invocation (`relay` mode, no gateway code), when it ran:
   * a reference line printed under the target, never part of its PASS/MISS.
   */
  reference?: string;
}

export interface LatencyComparison {
  rate: number;
  sizeBytes: number;
  p99MtlsMs: number;
  p99DirectMs: number;
  addedP99Ms: number;
}

const RSS_LIMIT_MIB = 256;

function matrixRun(results: RunResult[], mode: string, size: number): RunResult | undefined {
  return results.find((r) => r.purpose === 'matrix' && r.mode === mode && r.sizeBytes === size && !r.failed);
}

export function latencyComparison(results: RunResult[]): LatencyComparison | null {
  const m = results.find((r) => r.purpose === 'latency' && r.mode === 'mtls' && !r.failed);
  const d = results.find((r) => r.purpose === 'latency' && r.mode === 'direct' && !r.failed);
  if (!m || !d) return null;
  return {
    rate: m.rate ?? 0,
    sizeBytes: m.sizeBytes,
    p99MtlsMs: m.latencyMs.p99,
    p99DirectMs: d.latencyMs.p99,
    addedP99Ms: m.latencyMs.p99 - d.latencyMs.p99,
  };
}

function judge(measured: number | null, ok: (v: number) => boolean): TargetResult['status'] {
  return measured === null || Number.isNaN(measured) ? 'n/a' : ok(measured) ? 'PASS' : 'MISS';
}

export function evaluateTargets(
  results: RunResult[],
  floor: FloorResult | null = null,
  spoolReplay: SpoolReplayResult | null = null,
  fixedRate: RateFloor[] = [],
): TargetResult[] {
  const out: TargetResult[] = [];

  const kib = 1024;
  const m1k = matrixRun(results, 'mtls', kib);
  const one1k = matrixRun(results, 'one-in-flight', kib);
  const x = m1k && one1k ? m1k.msgPerS / one1k.msgPerS : null;
  out.push({
    id: 'throughput-1k',
    description: 'mtls 1 KiB msg/s vs one-in-flight',
    target: 10,
    measured: x,
    unit: '×',
    status: judge(x, (v) => v >= 10),
    detail:
      x === null
        ? 'needs mtls and one-in-flight runs at 1 KiB'
        : `${fmt(m1k!.msgPerS)} vs ${fmt(one1k!.msgPerS)} msg/s`,
  });

  const mib = 1024 * 1024;
  const m1m = matrixRun(results, 'mtls', mib);
  const d1m = matrixRun(results, 'direct', mib);
  const share = m1m && d1m ? m1m.mbPerS / d1m.mbPerS : null;
  out.push({
    id: 'bytes-1m',
    description: 'mtls 1 MiB bytes/s vs direct',
    target: 0.5,
    measured: share,
    unit: 'of direct',
    status: judge(share, (v) => v >= 0.5),
    detail:
      (share === null
        ? 'needs mtls and direct runs at 1 MiB'
        : `${fmt(m1m!.mbPerS)} vs ${fmt(d1m!.mbPerS)} MB/s`) +
      (floor
        ? `; copies and crypto alone cap any gateway here at ${fmt(floor.ceilingMBPerS)} MB/s` +
          (d1m ? ` = ${percent(floor.ceilingMBPerS, d1m.mbPerS)} of direct` : '') +
          `, one speaking HTTP/1.1 through undici and Node at ${fmt(floor.httpCeilingMBPerS)} MB/s` +
          (d1m ? ` = ${percent(floor.httpCeilingMBPerS, d1m.mbPerS)}` : '')
        : ''),
  });

  const lat = latencyComparison(results);
  out.push({
    id: 'added-p99',
    description: `added p99 over direct at 1,000 msg/s of ${formatSize(64 * kib)}`,
    target: 5,
    measured: lat ? lat.addedP99Ms : null,
    unit: 'ms',
    status: judge(lat ? lat.addedP99Ms : null, (v) => v <= 5),
    detail: lat
      ? `p99 mtls ${lat.p99MtlsMs.toFixed(2)} ms - direct ${lat.p99DirectMs.toFixed(2)} ms`
      : 'needs the latency runs (--extras latency)',
  });

  let worst: { mib: number; where: string } | null = null;
  for (const r of results) {
    for (const half of ['client', 'server'] as const) {
      const u = r[half];
      if (u && (!worst || u.peakRssMiB > worst.mib)) {
        worst = { mib: u.peakRssMiB, where: `${half} in ${r.name} ${formatSize(r.sizeBytes)}` };
      }
    }
  }
  const slowSinkRan = results.some((r) => r.purpose === 'slow-sink' && r.client);
  out.push({
    id: 'peak-rss',
    description: 'peak RSS of each half, every run',
    target: RSS_LIMIT_MIB,
    measured: worst ? worst.mib : null,
    unit: 'MiB',
    status: judge(worst ? worst.mib : null, (v) => v <= RSS_LIMIT_MIB),
    detail: worst
      ? `largest: ${worst.where}${slowSinkRan ? '' : ' (slow-sink run not included)'}`
      : 'no gateway run completed',
  });
  out.push(...spoolTargets(results, spoolReplay));
  out.push(
    ...fixedRateTargets(results, fixedRate),
    ...tailTargets(results),
    ...saturationTargets(results, floor),
  );
  return out;
}

/** Each half's CPU per message at a fixed rate must stay within this factor of its hops' bare pumps. */
const FIXED_RATE_CPU_FACTOR = 1.3;
const TAIL_RATIO = 3;
const TAIL_ADDED_MS = 5;
const TAIL_SIZE = 64 * 1024;
const SATURATION_HTTP = 0.9;
const SATURATION_TLS = 0.7;

function fixedRun(results: RunResult[], mode: string, size: number): RunResult | undefined {
  return results.find(
    (r) => r.purpose === 'fixed-rate' && r.mode === mode && r.sizeBytes === size && !r.failed,
  );
}

/** Per size and half: CPU per message against the HTTP pump as the middle hop, the bare-TLS ratio in the detail. */
function fixedRateTargets(results: RunResult[], floors: RateFloor[]): TargetResult[] {
  const out: TargetResult[] = [];
  const sizes = [...new Set(results.filter((r) => r.purpose === 'fixed-rate').map((r) => r.sizeBytes))];
  if (sizes.length === 0) {
    out.push({
      id: 'fixed-rate-cpu',
      description: 'each half’s CPU/msg at 40% of mtls vs the pumps for its hops (HTTP middle)',
      target: FIXED_RATE_CPU_FACTOR,
      measured: null,
      unit: '×',
      goal: 'max',
      status: 'n/a',
      detail: 'needs the fixed-rate runs (--extras fixed-rate with mtls in --modes)',
    });
  }
  for (const size of sizes) {
    const run = fixedRun(results, 'mtls', size);
    const relay = fixedRun(results, 'relay', size);
    const floor = floors.find((f) => f.sizeBytes === size);
    for (const half of ['client', 'server'] as const) {
      const h = run?.[half];
      const r = relay?.[half];
      const x = h && floor ? h.cpuUsPerMsg / halfFloorUs(floor, half, 'http1') : null;
      const xTls = h && floor ? h.cpuUsPerMsg / halfFloorUs(floor, half, 'tls') : null;
      out.push({
        id: 'fixed-rate-cpu',
        description: `${half} CPU/msg at ${formatSize(size)}, 40% of mtls, vs the pumps for its hops (HTTP middle)`,
        target: FIXED_RATE_CPU_FACTOR,
        measured: x,
        unit: '×',
        goal: 'max',
        status: judge(x, (v) => v <= FIXED_RATE_CPU_FACTOR),
        detail:
          x === null || !h || !floor || !run
            ? 'needs the fixed-rate mtls run and its pumps (--extras fixed-rate)'
            : `${fmt(h.cpuUsPerMsg)} vs ${fmt(halfFloorUs(floor, half, 'http1'))} µs/msg at ${run.rate} msg/s; ` +
              `vs bare TLS ${fmt(xTls!)}× (${fmt(halfFloorUs(floor, half, 'tls'))} µs/msg)`,
        ...(r
          ? {
              reference:
                `bare ${RELAY_HALF[half]} at ${relay!.rate} msg/s: ${fmt(r.cpuUsPerMsg)} µs/msg` +
                (floor
                  ? ` = ${fmt(r.cpuUsPerMsg / halfFloorUs(floor, half, 'tls'))}× the bare-TLS pumps`
                  : '') +
                (h ? `; ${half} = ${fmt(h.cpuUsPerMsg / r.cpuUsPerMsg)}× the relay` : ''),
            }
          : {}),
      });
    }
  }
  return out;
}

function loopAndGc(r: RunResult): string {
  return (['client', 'server'] as const)
    .map((k) => {
      const p = r[k]?.probe;
      return p ? `${k} loop max ${fmt(p.maxLoopDelayMs)} ms, ${p.fullGcs} full GCs` : `${k} not probed`;
    })
    .join(', ');
}

/** What stands in the client's and the server's place in a `relay` run (src/bench/relay-child.ts). */
const RELAY_HALF = { client: 'relay-in', server: 'relay-out' } as const;

function relayLoopAndGc(r: RunResult): string {
  return loopAndGc(r).replace('client', RELAY_HALF.client).replace('server', RELAY_HALF.server);
}

/** The 64 KiB fixed-rate run's tail: p99 against its own p50 and against direct at the same rate. */
function tailTargets(results: RunResult[]): TargetResult[] {
  const m = fixedRun(results, 'mtls', TAIL_SIZE);
  const d = fixedRun(results, 'direct', TAIL_SIZE);
  const relay = fixedRun(results, 'relay', TAIL_SIZE);
  const ratio = m && m.latencyMs.p50 > 0 ? m.latencyMs.p99 / m.latencyMs.p50 : null;
  const added = m && d ? m.latencyMs.p99 - d.latencyMs.p99 : null;
  const relayRatio = relay && relay.latencyMs.p50 > 0 ? relay.latencyMs.p99 / relay.latencyMs.p50 : null;
  const missing = 'needs the fixed-rate runs at 64 KiB (--extras fixed-rate with mtls and 64k)';
  return [
    {
      id: 'tail-ratio',
      description: `p99 vs p50 at ${formatSize(TAIL_SIZE)}, 40% of mtls`,
      target: TAIL_RATIO,
      measured: ratio,
      unit: '×',
      goal: 'max',
      status: judge(ratio, (v) => v <= TAIL_RATIO),
      detail: m
        ? `p50 ${m.latencyMs.p50.toFixed(2)} ms, p99 ${m.latencyMs.p99.toFixed(2)} ms at ${m.rate} msg/s; ${loopAndGc(m)}`
        : missing,
      ...(relay
        ? {
            reference:
              `bare relay at ${relay.rate} msg/s: p50 ${relay.latencyMs.p50.toFixed(2)} ms, ` +
              `p99 ${relay.latencyMs.p99.toFixed(2)} ms = ${relayRatio === null ? '-' : fmt(relayRatio)}×; ` +
              relayLoopAndGc(relay),
          }
        : {}),
    },
    {
      id: 'tail-added-p99',
      description: `added p99 over direct at ${formatSize(TAIL_SIZE)}, 40% of mtls`,
      target: TAIL_ADDED_MS,
      measured: added,
      unit: 'ms',
      goal: 'max',
      status: judge(added, (v) => v <= TAIL_ADDED_MS),
      detail:
        m && d
          ? `p99 mtls ${m.latencyMs.p99.toFixed(2)} ms - direct ${d.latencyMs.p99.toFixed(2)} ms`
          : missing,
      ...(relay && d
        ? {
            reference:
              `bare relay: added p99 ${(relay.latencyMs.p99 - d.latencyMs.p99).toFixed(2)} ms ` +
              `(p99 relay ${relay.latencyMs.p99.toFixed(2)} ms - direct ${d.latencyMs.p99.toFixed(2)} ms)`,
          }
        : {}),
    },
  ];
}

/**
 * The bare relay at 1 MiB against the bare-TLS bound, and mtls as a share of it: how much of the bound a
 * relay of this shape reaches with no gateway code, and how much of that the gateway keeps.
 */
function relaySaturation(m: RunResult | undefined, relay: RunResult, floor: FloorResult | null): string {
  const cpu = (r: RunResult): string =>
    r.client && r.server ? `${fmt(cpuMsPerMiB(r, 'client'))}/${fmt(cpuMsPerMiB(r, 'server'))}` : '-';
  return (
    `bare relay (no gateway code) ${fmt(relay.mbPerS)} MB/s` +
    (floor ? ` = ${percent(relay.mbPerS, floor.ceilingMBPerS)} of the bare-TLS bound` : '') +
    (m ? `; mtls = ${percent(m.mbPerS, relay.mbPerS)} of the relay` : '') +
    `; CPU ms/MiB relay-in/relay-out ${cpu(relay)}` +
    (m ? `, mtls client/server ${cpu(m)}` : '')
  );
}

function cpuMsPerMiB(r: RunResult, half: 'client' | 'server'): number {
  return (r[half]!.cpuUsPerMsg / 1000) * ((1024 * 1024) / r.sizeBytes);
}

/** mtls 1 MiB as fast as possible against the floor's two bounds. */
function saturationTargets(results: RunResult[], floor: FloorResult | null): TargetResult[] {
  const m = matrixRun(results, 'mtls', 1024 * 1024);
  const relay = matrixRun(results, 'relay', 1024 * 1024);
  // the same run by POST /batch (`mtls-batch`), when it ran: what the stream changed
  const batch = matrixRun(results, 'mtls-batch', 1024 * 1024);
  const line = (
    id: 'saturation-http' | 'saturation-tls',
    what: string,
    bound: number | undefined,
    target: number,
  ): TargetResult => {
    const share = m && bound ? m.mbPerS / bound : null;
    return {
      id,
      description: `mtls 1 MiB bytes/s vs the ${what} bound`,
      target,
      measured: share,
      unit: 'of bound',
      goal: 'min',
      status: judge(share, (v) => v >= target),
      detail:
        share === null
          ? 'needs the mtls 1 MiB run and the floor (--extras floor)'
          : `${fmt(m!.mbPerS)} vs ${fmt(bound!)} MB/s` +
            (batch ? `; mtls-batch ${fmt(batch.mbPerS)} MB/s = ${fmt((100 * batch.mbPerS) / bound!)}%` : ''),
    };
  };
  const tls = line('saturation-tls', 'bare-TLS', floor?.ceilingMBPerS, SATURATION_TLS);
  if (relay) tls.reference = relaySaturation(m, relay, floor);
  return [line('saturation-http', 'HTTP/1.1', floor?.httpCeilingMBPerS, SATURATION_HTTP), tls];
}

/** The spool's targets: mtls-spool (the default sync) as a share of mtls at each size, and the replay RSS. */
function spoolTargets(results: RunResult[], replay: SpoolReplayResult | null): TargetResult[] {
  const out: TargetResult[] = [];
  const sizes: [TargetResult['id'], number, number][] = [
    ['spool-1k', 1024, 0.5],
    ['spool-64k', 64 * 1024, 0.7],
    ['spool-1m', 1024 * 1024, 0.7],
  ];
  for (const [id, size, target] of sizes) {
    const spool = matrixRun(results, 'mtls-spool', size);
    const plain = matrixRun(results, 'mtls', size);
    const share = spool && plain ? spool.msgPerS / plain.msgPerS : null;
    out.push({
      id,
      description: `mtls-spool ${formatSize(size)} msg/s vs mtls`,
      target,
      measured: share,
      unit: 'of mtls',
      status: judge(share, (v) => v >= target),
      detail:
        share === null
          ? `needs mtls-spool and mtls runs at ${formatSize(size)}`
          : `${fmt(spool!.msgPerS)} vs ${fmt(plain!.msgPerS)} msg/s`,
    });
  }
  out.push({
    id: 'spool-replay-rss',
    description: 'peak RSS of the client replaying a 1 GiB spool',
    target: RSS_LIMIT_MIB,
    measured: replay && !replay.failures.length ? replay.peakRssMiB : null,
    unit: 'MiB',
    status: judge(replay && !replay.failures.length ? replay.peakRssMiB : null, (v) => v <= RSS_LIMIT_MIB),
    detail: replay
      ? `${replay.delivered} of ${replay.messages} x 1 MiB replayed at ${fmt(replay.replayMBPerS)} MB/s` +
        (replay.failures.length ? `; ${replay.failures.join('; ')}` : '')
      : 'needs --extras spool-replay',
  });
  return out;
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(0)}%`;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
