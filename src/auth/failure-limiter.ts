// Failed Basic logins per client address (IPv6: per /64), as a token bucket: `failures` per `periodMs`,
// refilled continuously. An address out of tokens is answered 429 before any hashing, so guessing costs
// the guesser time, not the server CPU. Only failures take tokens: a client with the right password is
// never slowed down. The buckets live in an LRU; an attacker who flushes it only resets buckets of
// addresses that are not failing right now (a failing address is touched on every attempt).
import { LruMap } from '../util/lru.js';
import { addressKey } from '../limits/index.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Addresses tracked at once; ~100 bytes each. */
const TRACKED_ADDRESSES = 65_536;

export class FailureLimiter {
  private readonly buckets = new LruMap<string, Bucket>(TRACKED_ADDRESSES);
  private readonly perMs: number;

  constructor(
    private readonly failures: number,
    periodMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = failures / periodMs;
  }

  private bucket(address: string): Bucket {
    const key = addressKey(address);
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.failures, at: now };
    b.tokens = Math.min(this.failures, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  /** Seconds until `address` may fail again; 0 when it may now. */
  retryAfterSeconds(address: string): number {
    const b = this.bucket(address);
    return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / this.perMs / 1000);
  }

  recordFailure(address: string): void {
    this.bucket(address).tokens -= 1;
  }
}
