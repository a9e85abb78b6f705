// The quarantine shared by a fleet of servers (`auth.basic.quarantine.shared`): behind a balancer a client's
// requests are spread over every server, so with per-server counting an attacker would get
// `failed_attempt_limit` guesses per server. Here every failure is also written to etcd under
// `<prefix>failures/<pair>/…` with a lease of the quarantine period, and a pair whose failures across the
// fleet reach the limit is written under `<prefix>locked/<pair>`, also leased. Every server mirrors the
// locked pairs (./user-store.ts's EtcdRecordStore, a watch) into its own table (./quarantine.ts), so a
// lockout decided anywhere holds everywhere within the watch delay. `<pair>` is base64url of `user:address`.
// The local table stays the authority for this server's own failures: when etcd is unreachable, writes fail
// (logged once), the local quarantine keeps working alone, and the mirror keeps the locks it has.
// The count is read after each write, so guesses in flight at the same time may overshoot the limit by up to
// their number before the lock is seen (bounded by the Argon2 gate and the per-address rate).
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { logger, peerText } from '../util/index.js';
import { grpcCause } from './etcd-client.js';
import type { FailureOutcome, Quarantine, QuarantineTable } from './quarantine.js';
import { EtcdRecordStore } from './user-store.js';
import { LruMap } from '../util/lru.js';

/** A lease for failure keys is reused for 1/this of the period: at most this many live per server. */
const LEASE_REUSE_FRACTION = 10;
/** Pairs this server remembers writing a shared failure for (to reset them on a success). */
const WRITTEN_PAIRS = 65_536;

const log = logger('media_gateway::auth::quarantine');

export interface SharedQuarantineConfig {
  /** etcd key prefix, ending in '/' */
  prefix: string;
  periodMs: number;
  failedAttemptLimit: number;
  connectTimeoutMs: number;
  /** the warning logged when this server locks a pair (default: a user quarantined) */
  lockMessage?: string;
}

function pairName(user: string, address: string): string {
  return Buffer.from(`${user}:${address}`).toString('base64url');
}

function pairOf(name: string): { user: string; address: string } | undefined {
  const text = Buffer.from(name, 'base64url').toString();
  const at = text.indexOf(':');
  return at < 0 ? undefined : { user: text.slice(0, at), address: text.slice(at + 1) };
}

export class SharedQuarantine implements QuarantineTable {
  private readonly serverId = randomUUID();
  private seq = 0;
  private reachable = true;
  /** the lease failure keys are written under now, and until when it is reused */
  private failureLease?: { lease: ReturnType<Etcd3['lease']>; reuseUntil: number };
  /** pair name → until when this server's shared failure for it lives */
  private readonly written = new LruMap<string, number>(WRITTEN_PAIRS);

  private constructor(
    private readonly local: Quarantine,
    private readonly client: Etcd3,
    private readonly cfg: SharedQuarantineConfig,
    private readonly locks: EtcdRecordStore,
  ) {}

  /** Starts mirroring the locked pairs (waits up to connect_timeout; never throws for etcd being down). */
  static async open(
    local: Quarantine,
    client: Etcd3,
    cfg: SharedQuarantineConfig,
  ): Promise<SharedQuarantine> {
    const locks = new EtcdRecordStore(client, `${cfg.prefix}locked/`, cfg.connectTimeoutMs);
    const shared = new SharedQuarantine(local, client, cfg, locks);
    locks.on('change', (name) => shared.mirror(name));
    await locks.start();
    return shared;
  }

  /** The lock is checked locally only: the mirror has copied every lock into the local table. */
  isQuarantined(user: string, address: string): boolean {
    return this.local.isQuarantined(user, address);
  }

  recordFailure(user: string, address: string): FailureOutcome {
    const outcome = this.local.recordFailure(user, address);
    const name = pairName(user, address);
    if (outcome === 'quarantined') void this.publishLock(name);
    else if (outcome === 'counted') void this.countFailure(user, address, name);
    return outcome;
  }

  /**
   * Resets the local count, and the shared failures of the pair when this server wrote one of them within
   * the period (so the common path, a success without recent failures here, writes nothing to etcd).
   * Failures written by other servers only are not known here: they expire with their lease.
   */
  recordSuccess(user: string, address: string): void {
    this.local.recordSuccess(user, address);
    const name = pairName(user, address);
    const until = this.written.get(name);
    if (until === undefined) return;
    this.written.delete(name);
    if (until > Date.now()) void this.resetFailures(name);
  }

  private async resetFailures(name: string): Promise<void> {
    try {
      await this.client.delete().prefix(`${this.cfg.prefix}failures/${name}/`);
      this.up();
    } catch (err) {
      this.down(err);
    }
  }

  async close(): Promise<void> {
    await this.locks.close();
    this.local.close();
  }

  private mirror(name: string): void {
    let stored: { value: Buffer } | undefined;
    try {
      stored = this.locks.get(name);
    } catch {
      return; // not loaded yet: the next sync reports every record again
    }
    const pair = stored ? pairOf(name) : undefined;
    if (!stored || !pair) return;
    // the lock's end as its writer set it (ms since the epoch), so a server that reads it late (started or
    // restarted during the lock) does not extend it; capped at one period from now against clock skew, and
    // a value without a time (an older writer) lasts the period from now
    const now = Date.now();
    const written = Number(stored.value.toString());
    const until =
      Number.isFinite(written) && written > 0
        ? Math.min(written, now + this.cfg.periodMs)
        : now + this.cfg.periodMs;
    if (until > now) this.local.lock(pair.user, pair.address, until);
  }

  /**
   * One lease of the period for all failure keys written within a tenth of it (not one per failure: etcd's
   * lessor would hold one per guess). A failure thus counts for 0.9 to 1 period.
   */
  private sharedLease(): ReturnType<Etcd3['lease']> {
    const now = Date.now();
    if (!this.failureLease || this.failureLease.reuseUntil <= now) {
      const lease = this.client.lease(this.leaseSeconds(), { autoKeepAlive: false });
      // a grant that failed is dropped so the next failure asks for a new one
      lease.on('lost', () => {
        if (this.failureLease?.lease === lease) this.failureLease = undefined;
      });
      this.failureLease = { lease, reuseUntil: now + this.cfg.periodMs / LEASE_REUSE_FRACTION };
    }
    return this.failureLease.lease;
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.cfg.periodMs / 1000));
  }

  private async countFailure(user: string, address: string, name: string): Promise<void> {
    const failures = `${this.cfg.prefix}failures/${name}/`;
    try {
      this.written.set(name, Date.now() + this.cfg.periodMs);
      await this.sharedLease().put(`${failures}${this.serverId}.${++this.seq}`).value('');
      const count = await this.client.getAll().prefix(failures).count();
      this.up();
      // already locked (here, or mirrored from another server): guesses that were in flight when the lock
      // came add nothing, so they neither log it again nor write it again
      if (count < this.cfg.failedAttemptLimit || this.local.isQuarantined(user, address)) return;
      if (this.local.lock(user, address))
        log.warn(
          { user: peerText(user), remote: address, failures: count },
          this.cfg.lockMessage ??
            'user quarantined for failed logins from this address (counted across servers)',
        );
      await this.publishLock(name);
    } catch (err) {
      this.down(err);
    }
  }

  private async publishLock(name: string): Promise<void> {
    try {
      const lease = this.client.lease(this.leaseSeconds(), { autoKeepAlive: false });
      await lease.put(`${this.cfg.prefix}locked/${name}`).value(String(Date.now() + this.cfg.periodMs));
      await this.client.delete().prefix(`${this.cfg.prefix}failures/${name}/`);
      this.up();
    } catch (err) {
      this.down(err);
    }
  }

  private up(): void {
    if (this.reachable) return;
    this.reachable = true;
    log.info({ prefix: this.cfg.prefix }, 'shared quarantine in etcd reachable again');
  }

  private down(err: unknown): void {
    if (!this.reachable) return;
    this.reachable = false;
    log.warn(
      { prefix: this.cfg.prefix, error: grpcCause((err as Error).message) },
      'shared quarantine in etcd unreachable; this server counts failures on its own meanwhile',
    );
  }
}
