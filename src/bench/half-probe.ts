// Preloaded (`node --import`) into each gateway half the benchmark starts: measures the event loop's
// largest delay (perf_hooks.monitorEventLoopDelay) and counts garbage collections by kind, so that a
// latency stall in a run can be traced to the half and to a full collection. The harness talks to it
// over the IPC channel it opens for the child (process.send): `reset` at the start of the measured
// part of a run, `report` just before the process is stopped. The channel is unreferenced, so the
// probe never keeps a half alive or changes how it shuts down; a half started without a channel (an
// operator's) never loads this module.
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface ProbeReport {
  /** largest event-loop delay since the last reset, ms (how late the sampling timer ran; 0 = on time) */
  maxLoopDelayMs: number;
  /** 99th percentile of the sampled event-loop delays, ms (as maxLoopDelayMs) */
  p99LoopDelayMs: number;
  /** full (mark-compact) collections since the last reset */
  fullGcs: number;
  /** scavenges (young generation) since the last reset */
  minorGcs: number;
  /** main-thread time in collections of any kind, ms */
  gcMs: number;
  /**
   * Largest figures of process.memoryUsage() sampled every MEMORY_SAMPLE_MS over the process's life (like
   * VmHWM), MiB: tells a peak RSS apart into JavaScript heap and Buffer memory outside it.
   */
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
}

export type ProbeRequest = { probe: 'reset' } | { probe: 'report' };
export type ProbeReply = { probe: 'reset' } | { probe: 'report'; report: ProbeReport };

/** Sampling interval of the delay monitor: a delay shorter than this may go unseen. */
export const RESOLUTION_MS = 10;
/** Sampling interval of process.memoryUsage() (a few µs each). */
const MEMORY_SAMPLE_MS = 10;
const MIB = 1024 * 1024;

/**
 * The loop's delay from one sample of the histogram, ms. Node's monitorEventLoopDelay records the whole
 * time between two runs of its timer, the interval included (an idle loop records ~10 ms at a 10 ms
 * resolution), so the interval is taken off: what is left is how late the timer ran, the stall.
 */
export function delayBeyondInterval(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e6 - RESOLUTION_MS);
}

function startMemorySampling(): ProbeReport['memory'] {
  const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss / MIB);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed / MIB);
    peak.external = Math.max(peak.external, m.external / MIB);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers / MIB);
  };
  setInterval(sample, MEMORY_SAMPLE_MS).unref();
  return peak;
}

function startProbe(): void {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const memory = startMemorySampling();
  let fullGcs = 0;
  let minorGcs = 0;
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
      gcMs += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m: ProbeRequest) => {
    if (m?.probe === 'reset') {
      // Node's histogram also forgets its last sample time: a stall before its next tick (RESOLUTION_MS) is
      // not measured (test/bench/probe.test.ts)
      delay.reset();
      fullGcs = minorGcs = gcMs = 0;
      process.send?.({ probe: 'reset' } satisfies ProbeReply);
    } else if (m?.probe === 'report') {
      const report: ProbeReport = {
        maxLoopDelayMs: delayBeyondInterval(delay.max),
        p99LoopDelayMs: delayBeyondInterval(delay.percentile(99)),
        fullGcs,
        minorGcs,
        gcMs,
        memory: { ...memory },
      };
      process.send?.({ probe: 'report', report } satisfies ProbeReply);
    }
  });
  // Listening for messages references the channel; the probe must not keep the process alive.
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
}

if (process.send) startProbe();
