// Failed-login quarantine, counted per (user, client address): failures from one address can only lock
// that address out, so an attacker elsewhere cannot shut a legitimate client out by guessing its password.
// Failures before the limit are counted in an LRU of the Basic auth cache size (as in the original); a
// success resets them. A pair that reached the limit moves to a separate table that nothing evicts: its
// entries leave only when their period is over, so requests for other users (which an attacker makes for
// free) cannot flush a quarantine. All entries share one period, so insertion order is expiry order and
// expired entries are swept from the front. The table is bounded by `capacity`; a full table cannot take
// new pairs (reported to the caller, which then refuses the address), and never drops a live one.
import type { CacheConfig } from '../config/index.js';
import { quarantinedUsers } from '../metrics/index.js';
import { LruCache } from './lru.js';

export type FailureOutcome = 'counted' | 'quarantined' | 'table_full';

/** What the authenticator needs of a quarantine: this local one, or ./shared-quarantine.ts around it. */
export interface QuarantineTable {
  isQuarantined(user: string, address: string): boolean;
  recordFailure(user: string, address: string): FailureOutcome;
  recordSuccess(user: string, address: string): void;
  close(): void | Promise<void>;
}

export class Quarantine implements QuarantineTable {
  private readonly failures: LruCache<string, number>;
  /** key → ms timestamp until which the pair is refused; insertion order = expiry order */
  private readonly locked = new Map<string, number>();
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly cfg: { periodMs: number; failedAttemptLimit: number },
    cache: CacheConfig,
    private readonly capacity = 100_000,
    private readonly now: () => number = Date.now,
    /** false for a table that is not of users (the fleet's per-address failure rate, ./authenticator.ts) */
    private readonly gauge = true,
  ) {
    this.failures = new LruCache('quarantine', cache);
  }

  private static key(user: string, address: string): string {
    // a user name never contains ':' (Basic auth splits there), so this key is unambiguous
    return `${user}:${address}`;
  }

  isQuarantined(user: string, address: string): boolean {
    this.sweep();
    // checked against its own end: a lock mirrored with an earlier end than others may sit behind them
    return (this.locked.get(Quarantine.key(user, address)) ?? 0) > this.now();
  }

  recordFailure(user: string, address: string): FailureOutcome {
    const key = Quarantine.key(user, address);
    const failures = (this.failures.get(key) ?? 0) + 1;
    if (failures < this.cfg.failedAttemptLimit) {
      this.failures.set(key, failures);
      return 'counted';
    }
    this.sweep();
    if (this.locked.size >= this.capacity) {
      this.failures.set(key, failures);
      return 'table_full';
    }
    this.failures.delete(key);
    this.locked.delete(key);
    this.locked.set(key, this.now() + this.cfg.periodMs);
    this.publish();
    return 'quarantined';
  }

  /**
   * Quarantines the pair now (another server counted its failures, ./shared-quarantine.ts) until `until`
   * (the end its writer set; by default `periodMs` from now like a local lockout); false when the table is
   * full. An entry ending before older ones is swept only after them, but refused only until its own end.
   */
  lock(user: string, address: string, until = this.now() + this.cfg.periodMs): boolean {
    const key = Quarantine.key(user, address);
    if ((this.locked.get(key) ?? 0) > this.now()) return true;
    this.sweep();
    this.locked.delete(key);
    if (this.locked.size >= this.capacity) return false;
    this.failures.delete(key);
    this.locked.set(key, until);
    this.publish();
    return true;
  }

  recordSuccess(user: string, address: string): void {
    this.failures.delete(Quarantine.key(user, address));
  }

  /** Drops the pairs whose period is over (they start again from zero failures). */
  private sweep(): void {
    const now = this.now();
    let dropped = false;
    for (const [key, until] of this.locked) {
      if (until > now) break;
      this.locked.delete(key);
      dropped = true;
    }
    if (dropped) this.publish();
  }

  /** The gauge, re-published when the oldest quarantine ends. */
  private publish(): void {
    if (this.gauge) quarantinedUsers.set(this.locked.size);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    const first = this.locked.values().next();
    if (first.done) return;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, first.value - this.now()) + 1);
    this.sweepTimer.unref();
  }

  close(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.failures.close();
  }
}
