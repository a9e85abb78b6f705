// FPS statistics log lines, reproducing savant_core 0.3.5 pipeline stats as used by Media Gateway
// (the line formats are pinned by test/stats/fps.test.ts): every forwarded message counts as one frame, counting starts at the
// first completed message, and either a frame-based or a time-based line is logged. Shared by the
// server (start after validation, end after the writer returns) and the client (start on read, end on 200).
import { ConfigError, type StatisticsConfig } from '../config/index.js';
import { logger, type Logger } from '../util/log.js';

export const STATS_TARGET = 'savant_core::pipeline::stats';

interface StatsRecord {
  ts: number;
  frames: number;
}

export interface FpsStatisticsOptions {
  /** where the lines go; defaults to the process logger with target `savant_core::pipeline::stats` */
  log?: Logger;
  /** epoch milliseconds; injectable so frame-based lines can be tested with exact numbers */
  now?: () => number;
}

/** The text after the log prefix, exactly as savant_core formats it (note the space before the comma). */
export function formatStatsMessage(kind: 'time' | 'frame', prev: StatsRecord, cur: StatsRecord): string {
  const frameDelta = cur.frames - prev.frames;
  const seconds = (cur.ts - prev.ts) / 1000;
  const fps = (frameDelta / seconds).toFixed(2);
  // Media Gateway never adds objects, so OPS is always zero.
  const ops = (0).toFixed(2);
  const head = kind === 'time' ? 'Time-based' : 'Frame-based';
  const sep = kind === 'time' ? ' ,' : ',';
  return (
    `${head} FPS counter triggered: FPS = ${fps}, OPS = ${ops}, frame_delta = ${frameDelta}, ` +
    `time_delta = ${String(seconds)} sec${sep} period=[${prev.ts}, ${cur.ts}] ms`
  );
}

export class FpsStatistics {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly framePeriod?: number;
  private readonly timestampPeriodMs?: number;
  /** the newest record (history size 2: the line compares it with the next one) */
  private last?: StatsRecord;
  private frames = 0;
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(cfg: StatisticsConfig, opts: FpsStatisticsOptions = {}) {
    if ((cfg.framePeriod === undefined) === (cfg.timestampPeriodMs === undefined)) {
      throw new ConfigError({}, 'statistics: exactly one of frame_period and timestamp_period must be set');
    }
    this.framePeriod = cfg.framePeriod;
    this.timestampPeriodMs = cfg.timestampPeriodMs;
    this.log = opts.log ?? logger(STATS_TARGET);
    this.now = opts.now ?? Date.now;
  }

  /** A message entered processing (kept for symmetry with savant's pipeline; only completions count). */
  start(): void {
    this.inFlight++;
  }

  /** A message completed: counts as one frame. */
  end(): void {
    if (this.closed) return;
    if (this.inFlight > 0) this.inFlight--;
    if (!this.last) {
      // Kick-off: an initial record with zero frames at this instant, then this frame is frame 1.
      this.last = { ts: this.now(), frames: 0 };
      this.scheduleTimeBased();
    }
    this.frames++;
    if (this.framePeriod !== undefined && this.frames - this.last.frames >= this.framePeriod) {
      this.record('frame');
    }
  }

  /** Stops the time-based timer; like the original, no final line is logged. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private record(kind: 'time' | 'frame'): void {
    const prev = this.last!;
    const cur = { ts: this.now(), frames: this.frames };
    this.last = cur;
    this.log.info(formatStatsMessage(kind, prev, cur));
  }

  // The original polls every ~1 ms; a timer aimed at the due instant gives the same lines without the spinning.
  private scheduleTimeBased(): void {
    const period = this.timestampPeriodMs;
    if (period === undefined || this.closed) return;
    const due = this.last!.ts + period;
    this.timer = setTimeout(
      () => {
        if (this.closed) return;
        if (this.now() - this.last!.ts >= period) this.record('time');
        this.scheduleTimeBased();
      },
      Math.max(0, due - this.now()),
    );
    this.timer.unref();
  }
}
