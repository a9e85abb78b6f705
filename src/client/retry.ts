// Exponential retry delays of the original client: the delay before retry 1 is the initial delay,
// each later delay is the previous one times the multiplier, capped at the maximum. Plus a sleep that a
// shutdown can cut short, so a lane waiting out a long delay does not hold the process.
import type { RetryConfig } from '../config/index.js';

export class Backoff {
  private previous?: number;
  private count = 0;

  constructor(private readonly cfg: RetryConfig) {}

  /** Retries since the last reset. */
  get attempts(): number {
    return this.count;
  }

  /** The delay (ms) to wait before the next retry. */
  next(): number {
    const { initialDelayMs, maximumDelayMs, multiplier } = this.cfg;
    const grown = this.previous === undefined ? initialDelayMs : this.previous * multiplier;
    // A non-finite product (overflow) also falls back to the maximum, as the original does.
    this.previous = Number.isFinite(grown) ? Math.min(grown, maximumDelayMs) : maximumDelayMs;
    this.count++;
    return this.previous;
  }

  /** The maximum delay, for failures that retrying soon cannot cure (a refused certificate or credential). */
  maximum(): number {
    this.previous = this.cfg.maximumDelayMs;
    this.count++;
    return this.previous;
  }

  /** Progress was made: the next failure starts again from the initial delay. */
  reset(): void {
    this.previous = undefined;
    this.count = 0;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
