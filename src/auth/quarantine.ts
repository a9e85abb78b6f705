// Failed-login quarantine, counted per (user, client address): failures from one address can only lock
// that address out, so an attacker elsewhere cannot shut a legitimate client out by guessing its password.
// The counters live in an LRU of the Basic auth cache size (as in the original); a success resets them.
import type { CacheConfig } from '../config/types.js';
import { quarantinedUsers } from '../metrics/registry.js';
import { LruCache } from './lru.js';

interface Entry {
  failures: number;
  /** ms timestamp until which the pair is refused */
  until?: number;
}

export class Quarantine {
  private readonly entries: LruCache<string, Entry>;
  private gaugeTimer?: NodeJS.Timeout;

  constructor(
    private readonly cfg: { periodMs: number; failedAttemptLimit: number },
    cache: CacheConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new LruCache('quarantine', cache);
  }

  private static key(user: string, address: string): string {
    // a user name never contains ':' (Basic auth splits there), so this key is unambiguous
    return `${user}:${address}`;
  }

  isQuarantined(user: string, address: string): boolean {
    const key = Quarantine.key(user, address);
    const e = this.entries.get(key);
    if (!e?.until) return false;
    if (e.until > this.now()) return true;
    // the period is over: the pair starts again from zero failures
    this.entries.delete(key);
    this.updateGauge();
    return false;
  }

  recordFailure(user: string, address: string): void {
    const key = Quarantine.key(user, address);
    const e = this.entries.get(key) ?? { failures: 0 };
    e.failures++;
    if (e.failures >= this.cfg.failedAttemptLimit) e.until = this.now() + this.cfg.periodMs;
    this.entries.set(key, e);
    if (e.until) this.updateGauge();
  }

  recordSuccess(user: string, address: string): void {
    this.entries.delete(Quarantine.key(user, address));
  }

  /** How many (user, address) pairs are refused right now; re-counted when the next quarantine ends. */
  private updateGauge(): void {
    const now = this.now();
    let count = 0;
    let next = Infinity;
    for (const e of this.entries.values()) {
      if (e.until && e.until > now) {
        count++;
        next = Math.min(next, e.until);
      }
    }
    quarantinedUsers.set(count);
    if (this.gaugeTimer) clearTimeout(this.gaugeTimer);
    if (next !== Infinity) {
      this.gaugeTimer = setTimeout(() => this.updateGauge(), next - now + 1);
      this.gaugeTimer.unref();
    }
  }

  close(): void {
    if (this.gaugeTimer) clearTimeout(this.gaugeTimer);
    this.entries.close();
  }
}
