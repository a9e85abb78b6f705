// One benchmark run end to end (source → [client → server] → sink, or source → sink for `direct`),
// and the plan of runs for a set of options.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SavantReader, SavantWriter } from '../savant/index.js';
import type { DemoPki } from '../pki/index.js';
import { freePort } from '../util/index.js';
import { CleanupStack } from '../util/cleanup-stack.js';
import {
  clientConfig,
  queueLength,
  serverConfig,
  type ClientTransportSettings,
  type Transport,
} from './configs.js';
import type { BenchMode, BenchOptions } from './options.js';
import type { ProbeReport } from './half-probe.js';
import { startGatewayProcess, startRelayProcess, type GatewayProcess, type ProcessUsage } from './process.js';
import { summarizeLatency, type LatencySummary } from './stats.js';
import { benchTopics, runSource, Sink } from './traffic.js';
import { startSpanSink, telemetrySection } from './telemetry.js';

export type RunPurpose = 'matrix' | 'latency' | 'slow-sink' | 'fixed-rate';

export interface RunSpec {
  name: string;
  purpose: RunPurpose;
  mode: BenchMode;
  sizeBytes: number;
  streams: number;
  seconds: number;
  /** seconds of sending before `seconds` of measuring; default: the first 10% of `seconds` (at most 0.5 s) */
  warmupS?: number;
  rate?: number;
  slowSinkMs?: number;
  /** both halves trace (a telemetry section, OTLP to a receiver in the harness), every message with a context */
  telemetry?: boolean;
}

export interface HalfResult extends ProcessUsage {
  pid: number;
  /** part of cpuS spent before the process was ready; cpuS - startupCpuS is the run's own CPU time */
  startupCpuS: number;
  /** CPU seconds from the end of the warm-up to the end of the run (drain included) */
  measuredCpuS: number;
  /** measuredCpuS per message that reached the sink after the warm-up, µs */
  cpuUsPerMsg: number;
  /** event-loop delay and GC counts after the warm-up (null when the probe did not answer) */
  probe: ProbeReport | null;
}

export interface RunResult extends RunSpec {
  transport: Transport | null;
  sent: number;
  received: number;
  unique: number;
  lost: number;
  duplicates: number;
  misordered: number;
  unexpected: number;
  sendErrors: number;
  drained: boolean;
  durationS: number;
  msgPerS: number;
  mbPerS: number;
  latencyMs: LatencySummary;
  client: HalfResult | null;
  server: HalfResult | null;
  /** CPU seconds of the harness (source + sink) over the run: near the run's length means the harness limited it */
  harnessCpuS: number;
  /** throughput relative to the `direct` and `one-in-flight` runs of the same size (filled in later) */
  ratio: { direct: number | null; oneInFlight: number | null };
  failed: boolean;
  failures: string[];
}

/** The latency extra: a steady 1,000 messages/s of 64 KiB. */
export const LATENCY_RATE = 1000;
export const LATENCY_SIZE = 64 * 1024;
/**
 * Warm-up of the latency runs before their measured seconds. Right after start the halves are still
 * compiling hot code and growing their heaps: measured per 100 ms window, the added latency stays high for
 * about 1.5 s after the first message. The target is about the steady state, so that part is not measured.
 */
export const LATENCY_WARMUP_S = 2;
/** The fixed-rate extra runs each size at this share of the mtls capacity measured in the same invocation. */
export const FIXED_RATE_SHARE = 0.4;

/**
 * The fixed-rate runs for the matrix's results: for every size with a successful mtls matrix run, mtls and
 * direct (and the bare relay, when `relay` is among the modes) at FIXED_RATE_SHARE of that run's msg/s,
 * with the latency runs' warm-up.
 */
export function planFixedRateRuns(o: BenchOptions, matrix: RunResult[]): RunSpec[] {
  const runs: RunSpec[] = [];
  for (const sizeBytes of o.sizes) {
    // The untraced run is the capacity the fixed-rate runs (which are untraced) are measured against.
    const candidates = matrix.filter(
      (r) => r.purpose === 'matrix' && r.mode === 'mtls' && r.sizeBytes === sizeBytes && !r.failed,
    );
    const mtls = candidates.find((r) => !r.telemetry) ?? candidates[0];
    if (!mtls || !(mtls.msgPerS > 0)) continue;
    const rate = Math.max(1, Math.round(mtls.msgPerS * FIXED_RATE_SHARE));
    const modes: BenchMode[] = o.modes.includes('relay') ? ['mtls', 'relay', 'direct'] : ['mtls', 'direct'];
    for (const mode of modes) {
      runs.push({
        name: `rate40-${mode}`,
        purpose: 'fixed-rate',
        mode,
        sizeBytes,
        streams: o.streams,
        seconds: o.seconds,
        rate,
        warmupS: LATENCY_WARMUP_S,
      });
    }
  }
  return runs;
}

/** The slow-sink extra: 1 MiB frames, the sink sleeping this long per message. */
export const SLOW_SINK_SIZE = 1024 * 1024;
export const SLOW_SINK_MS = 25;

export function planRuns(o: BenchOptions): RunSpec[] {
  const runs: RunSpec[] = [];
  const base = { streams: o.streams, seconds: o.seconds };
  const tracing = o.telemetry === 'both' ? [false, true] : [o.telemetry === 'on'];
  for (const sizeBytes of o.sizes) {
    for (const mode of o.modes) {
      for (const telemetry of tracing) {
        // `direct` and `relay` have no gateway to trace
        if (telemetry && (mode === 'direct' || mode === 'relay')) continue;
        runs.push({
          ...base,
          name: telemetry ? `${mode}+otel` : mode,
          purpose: 'matrix',
          mode,
          sizeBytes,
          rate: o.rate,
          slowSinkMs: o.slowSinkMs,
          ...(telemetry ? { telemetry } : {}),
        });
      }
    }
  }
  if (o.extras.includes('latency')) {
    for (const mode of ['mtls', 'direct'] as const) {
      runs.push({
        ...base,
        name: `latency-${mode}`,
        purpose: 'latency',
        mode,
        sizeBytes: LATENCY_SIZE,
        rate: LATENCY_RATE,
        warmupS: LATENCY_WARMUP_S,
      });
    }
  }
  if (o.extras.includes('slow-sink')) {
    runs.push({
      ...base,
      name: 'slow-sink-mtls',
      purpose: 'slow-sink',
      mode: 'mtls',
      sizeBytes: SLOW_SINK_SIZE,
      slowSinkMs: SLOW_SINK_MS,
    });
  }
  return runs;
}

export function needsPki(runs: RunSpec[]): boolean {
  return runs.some((r) => transportOf(r.mode) !== null && transportOf(r.mode) !== 'http');
}

/**
 * `one-in-flight` is the original's design (one POST / at a time) over mutual TLS, the figure it is compared
 * with; `relay` carries the messages over bare TLS with client certificates (no HTTP).
 */
export function transportOf(mode: BenchMode): Transport | null {
  if (mode === 'direct') return null;
  return mode === 'one-in-flight' || mode === 'relay' || mode.startsWith('mtls-')
    ? 'mtls'
    : (mode as Transport);
}

/** The spool sync setting of a spool mode (`mtls-spool` runs the default, "periodic"), or no spool. */
export function spoolSyncOf(mode: BenchMode): 'always' | 'periodic' | undefined {
  return mode === 'mtls-spool' ? 'periodic' : mode === 'mtls-spool-always' ? 'always' : undefined;
}

function clientSettings(mode: BenchMode): ClientTransportSettings {
  if (mode === 'one-in-flight') return { mode: 'single', lanes: 1 };
  return mode === 'mtls-batch' ? { mode: 'auto', lanes: 4, stream: false } : { mode: 'auto', lanes: 4 };
}

export interface RunContext {
  /** scratch directory for sockets, configs, dead letters */
  dir: string;
  pki?: DemoPki;
  drainTimeoutS: number;
  /** absolute directory for --cpu-prof output, when profiling */
  profileDir?: string;
  /** called once the halves are ready and the source is about to send (test/bench/half-death.test.ts) */
  onSending?(halves: GatewayProcess[]): void;
}

/** Runs one spec; never throws: a run that cannot complete is returned as failed with the reason. */
export async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const transport = transportOf(spec.mode);
  const runDir = await mkdtemp(path.join(ctx.dir, `${spec.name}-`));
  const hwm = queueLength(spec.sizeBytes);
  const sinkUrl = `ipc://${path.join(runDir, 'sink.ipc')}`;
  const sourceUrl = transport ? `ipc://${path.join(runDir, 'source.ipc')}` : sinkUrl;
  const topics = benchTopics(spec.streams);
  // closed last registered first: the source, the client, the server, the span receiver, the sink
  const cleanups = new CleanupStack();
  const failures: string[] = [];
  let client: GatewayProcess | undefined;
  let server: GatewayProcess | undefined;
  try {
    const reader = await SavantReader.open({
      url: `router+bind:${sinkUrl}`,
      receiveTimeoutMs: 1000,
      receiveHwm: hwm,
      topicPrefixSpec: { kind: 'none' },
      sourceCacheSize: 1000,
      inflightOps: hwm,
      ack: 'on_read',
    });
    let latencyFrom = Number.POSITIVE_INFINITY;
    const sink = new Sink(reader, topics, {
      size: spec.sizeBytes,
      slowSinkMs: spec.slowSinkMs,
      latencyFrom: () => latencyFrom,
    });
    sink.start();
    cleanups.push(() => sink.close());

    let telemetry: object | undefined;
    if (transport && spec.telemetry) {
      const receiver = await startSpanSink();
      cleanups.push(() => receiver.close());
      telemetry = telemetrySection(receiver.url);
    }

    if (spec.mode === 'relay') {
      ({ client, server } = await startRelays(spec, ctx, { sourceUrl, sinkUrl, hwm }, cleanups));
    } else if (transport) {
      const [serverPort, clientPort] = [await freePort(), await freePort()];
      const serverFile = path.join(runDir, 'server.json');
      const clientFile = path.join(runDir, 'client.json');
      const common = { frameBytes: spec.sizeBytes, transport, pki: ctx.pki };
      await writeFile(
        serverFile,
        JSON.stringify({ ...serverConfig({ ...common, port: serverPort, sinkUrl }), telemetry }, null, 2),
      );
      await writeFile(
        clientFile,
        JSON.stringify(
          {
            ...clientConfig({
              ...common,
              port: clientPort,
              serverPort,
              sourceUrl,
              settings: clientSettings(spec.mode),
              deadLetterDir: path.join(runDir, 'dead-letter'),
              spool: spoolOf(spec.mode, runDir),
            }),
            telemetry,
          },
          null,
          2,
        ),
      );
      const started = await Promise.allSettled([
        startGatewayProcess('server', serverFile, { profileDir: ctx.profileDir }),
        startGatewayProcess('client', clientFile, { profileDir: ctx.profileDir }),
      ]);
      if (started[0].status === 'fulfilled') server = started[0].value;
      if (started[1].status === 'fulfilled') client = started[1].value;
      // Client first: it must not keep retrying against a server that is already gone.
      cleanups.push(async () => server?.stop());
      cleanups.push(async () => client?.stop());
      for (const s of started) if (s.status === 'rejected') throw s.reason;
    }

    const writer = await SavantWriter.open({
      url: `dealer+connect:${sourceUrl}`,
      sendTimeoutMs: 10_000,
      sendRetries: 2,
      receiveTimeoutMs: 5000,
      receiveRetries: 0,
      sendHwm: hwm,
      receiveHwm: hwm,
    });
    cleanups.push(() => writer.close());
    const halves = [client, server].filter((h): h is GatewayProcess => h !== undefined);
    const death = watchForDeath(halves, () => void writer.close());
    cleanups.push(() => death.stop());

    // Latency counts only after a warm-up (by default 10% of the run, at most 0.5 s): JIT and connection set-up.
    const warmupMs = spec.warmupS !== undefined ? spec.warmupS * 1000 : Math.min(500, spec.seconds * 100);
    latencyFrom = performance.now() + warmupMs;
    // CPU per message and the probes' figures cover the same part of the run as the latency.
    const measureStart = new Promise<Map<GatewayProcess, number>>((resolve) =>
      setTimeout(async () => {
        const at = new Map<GatewayProcess, number>();
        messagesAtMeasureStart = sink.snapshot().unique;
        // a half that is already gone (a failed run) leaves its figure to the start-up fallback
        await Promise.all(
          halves.map(async (h) => {
            at.set(h, (await h.usage()).cpuS);
            await h.resetProbe();
          }),
        ).catch(() => undefined);
        resolve(at);
      }, warmupMs),
    );
    let messagesAtMeasureStart = 0;
    const cpuBefore = process.cpuUsage();
    ctx.onSending?.(halves);
    const source = await runSource(writer, {
      topics,
      size: spec.sizeBytes,
      seconds: spec.seconds + (spec.warmupS ?? 0),
      rate: spec.rate,
      traced: spec.telemetry,
      signal: death.signal,
    });
    const drained = await Promise.race([
      sink.waitForAll(source.sent, ctx.drainTimeoutS * 1000),
      death.died.then(() => false),
    ]);
    death.stop();
    // the dead half has no /proc entry left to read its figures from
    if (death.signal.aborted) return failedRun(spec, transport, String(death.signal.reason));
    const cpuAtStart = await measureStart;
    const [clientUsage, serverUsage] = await Promise.all([client?.usage(), server?.usage()]);
    const [clientProbe, serverProbe] = await Promise.all([client?.probe(), server?.probe()]);
    const counts = sink.snapshot();
    const measured = { messages: counts.unique - messagesAtMeasureStart, cpuAtStart };
    const cpu = process.cpuUsage(cpuBefore);

    const durationS = (counts.lastReceivedAt - source.startedAt) / 1000;
    const lost = source.sent - counts.unique;
    if (!drained)
      failures.push(`drain timeout: ${counts.unique} of ${source.sent} after ${ctx.drainTimeoutS} s`);
    if (lost > 0) failures.push(`${lost} lost`);
    if (counts.duplicates > 0) failures.push(`${counts.duplicates} duplicates`);
    if (counts.misordered > 0) failures.push(`${counts.misordered} out of order`);
    if (counts.unexpected > 0) failures.push(`${counts.unexpected} unexpected read results`);
    if (source.sendErrors > 0) failures.push(`${source.sendErrors} source send errors`);
    if (source.sent === 0) failures.push('nothing sent');
    return {
      ...spec,
      transport,
      sent: source.sent,
      received: counts.received,
      unique: counts.unique,
      lost,
      duplicates: counts.duplicates,
      misordered: counts.misordered,
      unexpected: counts.unexpected,
      sendErrors: source.sendErrors,
      drained,
      durationS,
      msgPerS: durationS > 0 ? counts.unique / durationS : 0,
      mbPerS: durationS > 0 ? (counts.unique * spec.sizeBytes) / durationS / 1e6 : 0,
      latencyMs: summarizeLatency(sink.latencyMs),
      client: client && clientUsage ? halfResult(client, clientUsage, clientProbe ?? null, measured) : null,
      server: server && serverUsage ? halfResult(server, serverUsage, serverProbe ?? null, measured) : null,
      harnessCpuS: (cpu.user + cpu.system) / 1e6,
      ratio: { direct: null, oneInFlight: null },
      failed: failures.length > 0,
      failures,
    };
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    return failedRun(spec, transport, `run aborted: ${msg.split('\n').slice(0, 6).join(' | ')}`);
  } finally {
    await cleanups.close();
  }
}

/** Lanes of the bare relay: one TLS connection per lane, as the gateway client's 4 lanes (clientSettings). */
export const RELAY_LANES = 4;

/**
 * The `relay` mode's children in the halves' places: relay-out (TLS server → dealer to the sink) first, then
 * relay-in (router at the source → TLS), which connects its lanes before it reports ready. Registered for
 * cleanup like the halves: relay-in stops first.
 */
async function startRelays(
  spec: RunSpec,
  ctx: RunContext,
  at: { sourceUrl: string; sinkUrl: string; hwm: number },
  cleanups: CleanupStack,
): Promise<{ client: GatewayProcess; server: GatewayProcess }> {
  const pki = ctx.pki;
  if (!pki) throw new Error(`${spec.mode} needs the benchmark PKI`);
  const port = await freePort();
  const opts = { profileDir: ctx.profileDir };
  const server = await startRelayProcess(
    'relay-out',
    { sink: at.sinkUrl, port, hwm: at.hwm, cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
    opts,
  );
  cleanups.push(() => server.stop());
  const client = await startRelayProcess(
    'relay-in',
    {
      source: at.sourceUrl,
      port,
      hwm: at.hwm,
      lanes: RELAY_LANES,
      cert: pki.clientCert,
      key: pki.clientKey,
      ca: pki.caCert,
    },
    opts,
  );
  cleanups.push(() => client.stop());
  return { client, server };
}

/**
 * Watches the halves (or relay children) for an exit during the run. Without it a half that died left the
 * source's sends waiting for their timeouts one after another (10 s × 3 attempts each, the writer sends in
 * order) and the harness hung for many minutes; now the run ends at once, failed, with the reason.
 */
function watchForDeath(
  halves: GatewayProcess[],
  onDeath: () => void,
): { signal: AbortSignal; died: Promise<void>; stop(): void } {
  // the signal's reason says which half died and how
  const aborter = new AbortController();
  const listeners = halves.map((h) => {
    const l = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (aborter.signal.aborted) return;
      aborter.abort(`${h.kind} exited during the run (${signal ?? `code ${code}`}): ${lastLine(h.output())}`);
      onDeath();
    };
    h.child.once('exit', l);
    return [h, l] as const;
  });
  return {
    signal: aborter.signal,
    died: new Promise((resolve) => aborter.signal.addEventListener('abort', () => resolve(), { once: true })),
    stop: () => {
      for (const [h, l] of listeners) h.child.off('exit', l);
    },
  };
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return lines[lines.length - 1]?.slice(0, 300) ?? '';
}

function spoolOf(mode: BenchMode, runDir: string): { dir: string; sync: 'always' | 'periodic' } | undefined {
  const sync = spoolSyncOf(mode);
  return sync ? { dir: path.join(runDir, 'spool'), sync } : undefined;
}

function halfResult(
  p: GatewayProcess,
  usage: ProcessUsage,
  probe: ProbeReport | null,
  measured: { messages: number; cpuAtStart: Map<GatewayProcess, number> },
): HalfResult {
  const measuredCpuS = usage.cpuS - (measured.cpuAtStart.get(p) ?? p.startupCpuS);
  return {
    pid: p.child.pid!,
    startupCpuS: p.startupCpuS,
    ...usage,
    measuredCpuS,
    cpuUsPerMsg: measured.messages > 0 ? (measuredCpuS * 1e6) / measured.messages : Number.NaN,
    probe,
  };
}

function failedRun(spec: RunSpec, transport: Transport | null, reason: string): RunResult {
  return {
    ...spec,
    transport,
    sent: 0,
    received: 0,
    unique: 0,
    lost: 0,
    duplicates: 0,
    misordered: 0,
    unexpected: 0,
    sendErrors: 0,
    drained: false,
    durationS: 0,
    msgPerS: 0,
    mbPerS: 0,
    latencyMs: { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN },
    client: null,
    server: null,
    harnessCpuS: 0,
    ratio: { direct: null, oneInFlight: null },
    failed: true,
    failures: [reason],
  };
}

/** Fills in each matrix run's throughput ratio to the `direct` and `one-in-flight` runs of the same size. */
export function fillRatios(results: RunResult[]): void {
  const matrix = results.filter((r) => r.purpose === 'matrix');
  for (const r of matrix) {
    const peer = (mode: BenchMode) =>
      matrix.find((o) => o.mode === mode && o.sizeBytes === r.sizeBytes && !o.failed && o.msgPerS > 0);
    const d = peer('direct');
    const one = peer('one-in-flight');
    r.ratio = {
      direct: d && !r.failed ? r.msgPerS / d.msgPerS : null,
      oneInFlight: one && !r.failed ? r.msgPerS / one.msgPerS : null,
    };
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}
