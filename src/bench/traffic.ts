// The Savant ends of a benchmark run, both inside the harness process so they share one clock:
// a source (ZeroMQ dealer) stamping each extra frame with its send time and a per-topic sequence
// number, and a sink (ZeroMQ router) checking order, loss and duplicates per topic and recording
// end-to-end latency.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WriteResult, SavantWriter, SavantReader } from '../savant/index.js';
import { buildMessage } from '../savant/message.js';
import { replacePropagatedContext } from '../savant/propagated-context.js';
import { sampledTraceparent } from './telemetry.js';
import { SampleBuffer } from './stats.js';

/** Bytes 0-7: send time (performance.now(), ms, f64 LE); 8-11: sequence (u32 LE); 12-15: topic index (u32 LE). */
export const HEADER_BYTES = 16;

export function benchTopics(streams: number): string[] {
  return Array.from({ length: streams }, (_, i) => `bench-${i}`);
}

export interface SourceResult {
  sent: number;
  sentPerTopic: number[];
  /** send results other than success (send timeout, error) */
  sendErrors: number;
  startedAt: number;
  stoppedAt: number;
}

export interface SourceOptions {
  topics: string[];
  size: number;
  seconds: number;
  /** total messages/s over all topics; undefined = as fast as the writer accepts */
  rate?: number;
  /** sends queued in the writer at once */
  window?: number;
  /** every message carries a sampled W3C trace context (one per topic) in its propagated_context */
  traced?: boolean;
  /** stops sending (a half died: the run has failed, and every further send would wait for its timeout) */
  signal?: AbortSignal;
}

/** Bytes per arena: small frames share one allocation; a frame of this size or more gets its own. */
const ARENA_BYTES = 256 * 1024;

/**
 * Zeroed frames cut from shared allocations. One ArrayBuffer per frame cost the 1 KiB source ~2 µs of
 * allocation plus GC per message, in the same process as the sink and on the cores the gateway is
 * measured on. Frames are never reused: ZeroMQ sends them without copying and holds them until written.
 */
export class FrameArena {
  private arena = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly size: number) {}

  next(): Buffer {
    if (this.size >= ARENA_BYTES) return Buffer.alloc(this.size);
    if (this.offset + this.size > this.arena.length) {
      this.arena = Buffer.alloc(Math.floor(ARENA_BYTES / this.size) * this.size);
      this.offset = 0;
    }
    const frame = this.arena.subarray(this.offset, this.offset + this.size);
    this.offset += this.size;
    return frame;
  }
}

/**
 * Sends messages round-robin over the topics for `seconds`. In a fixed-rate run the stamp is the
 * scheduled send time, so a stalled pipeline shows up as latency instead of silently sending later.
 */
export async function runSource(writer: SavantWriter, opts: SourceOptions): Promise<SourceResult> {
  const topics = opts.topics.map((t) => Buffer.from(t));
  const messages = opts.topics.map((t) => {
    const m = buildMessage({ content: 'video_frame', sourceId: t });
    return opts.traced ? replacePropagatedContext(m, { traceparent: sampledTraceparent() }) : m;
  });
  const sentPerTopic = opts.topics.map(() => 0);
  const frames = new FrameArena(opts.size);
  const window = opts.window ?? 64;
  const ring: (Promise<WriteResult> | undefined)[] = new Array(window);
  let sendErrors = 0;
  let n = 0;

  const settle = async (slot: number): Promise<void> => {
    const prev = ring[slot];
    if (!prev) return;
    ring[slot] = undefined;
    const r = await prev;
    if (r.kind !== 'success' && r.kind !== 'ack') sendErrors++;
  };
  const sendOne = async (stamp: number): Promise<void> => {
    const slot = n % window;
    await settle(slot);
    const t = n % topics.length;
    const frame = frames.next();
    frame.writeDoubleLE(stamp, 0);
    frame.writeUInt32LE(sentPerTopic[t], 8);
    frame.writeUInt32LE(t, 12);
    sentPerTopic[t]++;
    ring[slot] = writer.send(topics[t], messages[t], [frame], false);
    n++;
  };

  const startedAt = performance.now();
  const end = startedAt + opts.seconds * 1000;
  const stopped = (): boolean => opts.signal?.aborted === true;
  if (opts.rate === undefined) {
    while (performance.now() < end && !stopped()) await sendOne(performance.now());
  } else {
    const interval = 1000 / opts.rate;
    for (;;) {
      const now = performance.now();
      if (now >= end || stopped()) break;
      const due = Math.floor((now - startedAt) / interval) + 1;
      while (n < due) await sendOne(startedAt + n * interval);
      const next = startedAt + n * interval - performance.now();
      if (next > 0) await sleep(next);
    }
  }
  for (let slot = 0; slot < window; slot++) await settle(slot);
  return { sent: n, sentPerTopic, sendErrors, startedAt, stoppedAt: performance.now() };
}

/** Per-topic receipt bitmap: which sequence numbers arrived. */
class SeenSet {
  private bits = new Uint8Array(1024);
  unique = 0;
  last = -1;

  /** true when seq had already arrived */
  mark(seq: number): boolean {
    while (seq >> 3 >= this.bits.length) {
      const bigger = new Uint8Array(this.bits.length * 2);
      bigger.set(this.bits);
      this.bits = bigger;
    }
    const mask = 1 << (seq & 7);
    if (this.bits[seq >> 3] & mask) return true;
    this.bits[seq >> 3] |= mask;
    this.unique++;
    return false;
  }
}

export interface SinkCounts {
  /** every message frame that arrived, duplicates included */
  received: number;
  /** distinct (topic, sequence) pairs */
  unique: number;
  duplicates: number;
  /** arrivals with a lower sequence number than one already seen on the same topic */
  misordered: number;
  /** results that are not a benchmark message (unknown topic, wrong size, non-message read results) */
  unexpected: number;
  firstReceivedAt: number;
  lastReceivedAt: number;
}

export class Sink {
  private readonly seen: SeenSet[];
  private readonly topicIndex: Map<string, number>;
  private counts: SinkCounts = {
    received: 0,
    unique: 0,
    duplicates: 0,
    misordered: 0,
    unexpected: 0,
    firstReceivedAt: Number.NaN,
    lastReceivedAt: Number.NaN,
  };
  readonly latencyMs = new SampleBuffer();
  private expected = Number.POSITIVE_INFINITY;
  private onComplete: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly reader: SavantReader,
    topics: string[],
    private readonly opts: { size: number; slowSinkMs?: number; latencyFrom?: () => number },
  ) {
    this.seen = topics.map(() => new SeenSet());
    this.topicIndex = new Map(topics.map((t, i) => [t, i]));
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    for (;;) {
      const r = await this.reader.receive();
      if (!r) return;
      const now = performance.now();
      if (r.kind !== 'message') {
        this.counts.unexpected++;
        continue;
      }
      const t = this.topicIndex.get(r.topic.toString('utf8'));
      const frame = r.data[0];
      if (
        t === undefined ||
        r.data.length !== 1 ||
        frame.length !== this.opts.size ||
        frame.readUInt32LE(12) !== t
      ) {
        this.counts.unexpected++;
        continue;
      }
      const c = this.counts;
      if (c.received === 0) c.firstReceivedAt = now;
      c.received++;
      c.lastReceivedAt = now;
      const seq = frame.readUInt32LE(8);
      const seen = this.seen[t];
      if (seq < seen.last) c.misordered++;
      seen.last = Math.max(seen.last, seq);
      if (seen.mark(seq)) c.duplicates++;
      else c.unique++;
      const stamp = frame.readDoubleLE(0);
      if (stamp >= (this.opts.latencyFrom?.() ?? 0)) this.latencyMs.add(now - stamp);
      if (c.unique >= this.expected) this.onComplete?.();
      if (this.opts.slowSinkMs) await sleep(this.opts.slowSinkMs);
    }
  }

  snapshot(): SinkCounts {
    return { ...this.counts };
  }

  /** Resolves true once `total` distinct messages arrived, false after timeoutMs. */
  waitForAll(total: number, timeoutMs: number): Promise<boolean> {
    this.expected = total;
    if (this.counts.unique >= total) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onComplete = undefined;
        resolve(false);
      }, timeoutMs);
      this.onComplete = () => {
        clearTimeout(timer);
        this.onComplete = undefined;
        resolve(true);
      };
    });
  }

  /** Closes the reader and waits for the receive loop to end. */
  async close(): Promise<void> {
    await this.reader.close();
    await this.loop;
  }
}
