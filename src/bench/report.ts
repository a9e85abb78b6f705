// Presenting benchmark results: the text table, the JSON document and a hand-written SVG chart.
import { formatSize, type BenchOptions } from './options.js';
import type { TelemetryComparison } from './benchmark.js';
import type { FloorResult, RateFloor } from './floor.js';
import type { RunResult } from './runner.js';
import type { SpoolReplayResult } from './spool-replay.js';
import type { IdleResult } from './idle.js';
import { fmt, type LatencyComparison, type TargetResult } from './targets.js';

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  host: { cpus: number; node: string; platform: string };
  options: BenchOptions;
  runs: RunResult[];
  latency: LatencyComparison | null;
  /** bare ZeroMQ, TLS and HTTP pumps and the bounds made from them (--extras floor) */
  floor?: FloorResult | null;
  /** bare pumps at each fixed-rate run's size and rate (--extras fixed-rate) */
  fixedRate?: RateFloor[];
  /** the spool-replay extra (--extras spool-replay) */
  spoolReplay?: SpoolReplayResult | null;
  /** each half's CPU with no traffic (--extras idle) */
  idle?: IdleResult | null;
  /** --telemetry: per-message CPU with tracing on against off */
  telemetry?: TelemetryComparison[] | null;
  targets: TargetResult[];
  /** true when any run lost, duplicated or reordered messages, or could not complete */
  failed: boolean;
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(v >= 100 ? 0 : 2) : '-');
const ratio = (v: number | null): string => (v === null ? '-' : `${fmt(v)}×`);
const half = (h: RunResult['client']): string =>
  h ? `${h.cpuS.toFixed(1)}s/${h.peakRssMiB.toFixed(0)}M` : '-';
const pair = (r: RunResult, f: (h: NonNullable<RunResult['client']>) => string): string =>
  r.client && r.server ? `${f(r.client)}/${f(r.server)}` : '-';
const probed =
  (f: (p: NonNullable<NonNullable<RunResult['client']>['probe']>) => string) =>
  (h: NonNullable<RunResult['client']>): string =>
    h.probe ? f(h.probe) : '?';

function describe(r: RunResult): string {
  const extra = [r.rate ? `${r.rate}/s` : '', r.slowSinkMs ? `sink ${r.slowSinkMs}ms` : ''].filter(Boolean);
  return extra.length ? `${r.name} (${extra.join(', ')})` : r.name;
}

export function formatTable(report: BenchReport): string {
  const header = [
    'run',
    'size',
    'msg/s',
    'MB/s',
    'x direct',
    'x 1-in-flight',
    'p50 ms',
    'p99 ms',
    'max ms',
    'client cpu/rss',
    'server cpu/rss',
    'µs/msg c/s',
    'loop max ms c/s',
    'full GCs c/s',
    'sent',
    'lost/dup/order',
    'status',
  ];
  const rows = report.runs.map((r) => [
    describe(r),
    formatSize(r.sizeBytes),
    fmt(r.msgPerS),
    fmt(r.mbPerS),
    ratio(r.ratio.direct),
    ratio(r.ratio.oneInFlight),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    ms(r.latencyMs.max),
    half(r.client),
    half(r.server),
    pair(r, (h) => fmt(h.cpuUsPerMsg)),
    pair(
      r,
      probed((p) => fmt(p.maxLoopDelayMs)),
    ),
    pair(
      r,
      probed((p) => String(p.fullGcs)),
    ),
    String(r.sent),
    `${r.lost}/${r.duplicates}/${r.misordered}`,
    r.failed ? 'FAILED' : 'ok',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i <= 1 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  for (const r of report.runs.filter((x) => x.failed)) {
    out.push(`FAILED ${describe(r)} ${formatSize(r.sizeBytes)}: ${r.failures.join('; ')}`);
  }
  if (report.latency) {
    const l = report.latency;
    out.push(
      '',
      `latency at ${l.rate} msg/s of ${formatSize(l.sizeBytes)}: p99 mtls ${ms(l.p99MtlsMs)} ms, ` +
        `direct ${ms(l.p99DirectMs)} ms, added p99 ${ms(l.addedP99Ms)} ms`,
    );
  }
  if (report.floor) {
    const f = report.floor;
    const side = (p: FloorResult['zeromq']): string =>
      `${fmt(p.mibPerS)} MiB/s, CPU ${p.sendCpuMsPerMiB.toFixed(2)} ms/MiB sending + ` +
      `${p.receiveCpuMsPerMiB.toFixed(2)} ms/MiB receiving`;
    out.push(
      '',
      `floor at ${formatSize(f.sizeBytes)} (bare pumps, no gateway code):`,
      `  ZeroMQ ipc dealer -> router: ${side(f.zeromq)}`,
      `  Node TLS, client certificates: ${side(f.tls)}`,
      `  undici -> Node HTTPS, HTTP/1.1, 4 connections: ${side(f.http1)}`,
      `  undici -> Node HTTPS, HTTP/2, 4 streams on 1 connection: ${side(f.h2)}`,
      `  gateway path = 2 ZeroMQ hops + 1 TLS hop = ${f.gatewayPathCpuMsPerMiB.toFixed(2)} CPU ms/MiB; ` +
        `on ${f.cores} cores at 100%: at most ${fmt(f.ceilingMBPerS)} MB/s`,
      `  with HTTP/1.1 (undici -> Node HTTPS) as the middle hop = ${f.httpPathCpuMsPerMiB.toFixed(2)} ` +
        `CPU ms/MiB; at most ${fmt(f.httpCeilingMBPerS)} MB/s`,
    );
  }
  for (const f of report.fixedRate ?? []) {
    const side = (p: RateFloor['zeromq']): string =>
      `${fmt(p.sendCpuUsPerMsg)} µs/msg sending + ${fmt(p.receiveCpuUsPerMsg)} µs/msg receiving`;
    out.push(
      '',
      `floor at ${formatSize(f.sizeBytes)}, ${f.rate} msg/s (bare pumps, CPU per message):`,
      `  ZeroMQ ipc dealer -> router: ${side(f.zeromq)}`,
      `  Node TLS, client certificates: ${side(f.tls)}`,
      `  undici -> Node HTTPS, HTTP/1.1, one message per request, 4 in flight: ${side(f.http1)}`,
    );
  }
  if (report.idle) {
    const i = report.idle;
    out.push(
      '',
      `idle (mtls, no traffic, ${i.seconds} s): client ${fmt(i.clientCpuMsPerS)} ms CPU/s, ` +
        `server ${fmt(i.serverCpuMsPerS)} ms CPU/s`,
    );
  }
  out.push('', 'targets (https with client certificates):');
  for (const t of report.targets) {
    const measured =
      t.measured === null
        ? 'n/a'
        : t.unit.startsWith('of ')
          ? `${(t.measured * 100).toFixed(0)}%`
          : `${fmt(t.measured)}${t.unit === '×' ? '' : ' '}${t.unit}`;
    const atLeast =
      t.goal === 'min' || t.id === 'bytes-1m' || t.unit === 'of mtls' || t.id === 'throughput-1k';
    const goal = t.unit.startsWith('of ')
      ? `${atLeast ? '>=' : '<='} ${t.target * 100}% ${t.unit}`
      : t.unit === '×'
        ? `${atLeast ? '>=' : '<='} ${t.target}×`
        : `${atLeast ? '>=' : '<='} ${t.target} ${t.unit}`;
    out.push(`  ${t.status.padEnd(4)}  ${t.description}: ${measured} (target ${goal}; ${t.detail})`);
    if (t.reference) out.push(`        reference: ${t.reference}`);
  }
  return out.join('\n') + '\n';
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const COLORS: Record<string, string> = {
  direct: '#7f7f7f',
  relay: '#bcbd22',
  'one-in-flight': '#d62728',
  http: '#2ca02c',
  https: '#1f77b4',
  mtls: '#9467bd',
  'mtls-batch': '#17becf',
  'mtls-spool': '#8c564b',
  'mtls-spool-always': '#e377c2',
};

/** One panel per frame size (each with its own MB/s scale), one bar per mode, labelled with msg/s. */
export function renderSvg(report: BenchReport): string {
  const matrix = report.runs.filter((r) => r.purpose === 'matrix');
  const sizes = [...new Set(matrix.map((r) => r.sizeBytes))];
  const modes = [...new Set(matrix.map((r) => r.mode))];
  const panelW = Math.max(220, modes.length * 56 + 40);
  const panelH = 260;
  const top = 60;
  const left = 20;
  const width = left * 2 + sizes.length * panelW;
  const height = top + panelH + 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">media-gateway throughput by frame size and mode (MB/s; bar label: msg/s)</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(`${report.startedAt}, ${report.host.cpus} CPUs, node ${report.host.node}, ${report.options.streams} streams, ${report.options.seconds} s per run`)}</text>`,
  ];
  sizes.forEach((size, si) => {
    const x0 = left + si * panelW;
    const runs = modes.map((m) => matrix.find((r) => r.mode === m && r.sizeBytes === size));
    const maxMb = Math.max(1e-9, ...runs.map((r) => (r && !r.failed ? r.mbPerS : 0)));
    const plotH = panelH - 40;
    const barW = (panelW - 40) / Math.max(1, modes.length);
    parts.push(
      `<text x="${x0 + panelW / 2}" y="${top + 4}" text-anchor="middle" font-size="13" font-weight="bold">${esc(formatSize(size))}</text>`,
      `<line x1="${x0 + 10}" y1="${top + 20 + plotH}" x2="${x0 + panelW - 20}" y2="${top + 20 + plotH}" stroke="#333"/>`,
    );
    runs.forEach((r, mi) => {
      const bx = x0 + 15 + mi * barW;
      const mode = modes[mi];
      const h = r && !r.failed ? (r.mbPerS / maxMb) * (plotH - 20) : 0;
      const by = top + 20 + plotH - h;
      parts.push(
        `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 8).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[mode] ?? '#333'}"><title>${esc(`${mode} ${formatSize(size)}: ${r ? `${fmt(r.mbPerS)} MB/s, ${fmt(r.msgPerS)} msg/s` : 'not run'}`)}</title></rect>`,
        `<text x="${(bx + (barW - 8) / 2).toFixed(1)}" y="${(by - 14).toFixed(1)}" text-anchor="middle">${r ? (r.failed ? 'FAILED' : esc(fmt(r.mbPerS))) : ''}</text>`,
        `<text x="${(bx + (barW - 8) / 2).toFixed(1)}" y="${(by - 3).toFixed(1)}" text-anchor="middle" fill="#555" font-size="9">${r && !r.failed ? esc(fmt(r.msgPerS)) : ''}</text>`,
        `<text x="${(bx + (barW - 8) / 2).toFixed(1)}" y="${top + 34 + plotH}" text-anchor="middle" font-size="9">${esc(mode)}</text>`,
      );
    });
  });
  const ly = top + panelH + 40;
  modes.forEach((m, i) => {
    parts.push(
      `<rect x="${left + i * 110}" y="${ly}" width="12" height="12" fill="${COLORS[m] ?? '#333'}"/>`,
      `<text x="${left + i * 110 + 16}" y="${ly + 10}">${esc(m)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
