// The quarantine shared by a fleet of servers (`auth.basic.quarantine.shared`): behind a balancer a client's
// requests are spread over every server, so with per-server counting an attacker would get
// `failed_attempt_limit` guesses per server. Here every failure is also written to etcd under
// `<prefix>failures/<pair>/…` with a lease of the quarantine period, and a pair whose failures across the
// fleet reach the limit is written under `<prefix>locked/<pair>`, also leased. Every server mirrors the
// locked pairs (./user-store.ts's EtcdRecordStore, a watch) into its own table (./quarantine.ts), so a
// lockout decided anywhere holds everywhere within the watch delay. `<pair>` is base64url of `user:address`.
// The local table stays the authority for this server's own failures: when etcd is unreachable, writes fail
// (logged once), the local quarantine keeps working alone, and the mirror keeps the locks it has.
// The count is read after each write, so concurrent guesses on several servers may overshoot the limit by
// up to one per server before the lock is seen: a bound, not a multiplication.
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { logger } from '../util/log.js';
import { peerText } from '../util/peer-text.js';
import { grpcCause } from './etcd-client.js';
import type { FailureOutcome, Quarantine, QuarantineTable } from './quarantine.js';
import { EtcdRecordStore } from './user-store.js';

const log = logger('media_gateway::auth::quarantine');

export interface SharedQuarantineConfig {
  /** etcd key prefix, ending in '/' */
  prefix: string;
  periodMs: number;
  failedAttemptLimit: number;
  connectTimeoutMs: number;
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

  /** Resets the local count only: shared failures expire with their lease (no etcd write per success). */
  recordSuccess(user: string, address: string): void {
    this.local.recordSuccess(user, address);
  }

  async close(): Promise<void> {
    await this.locks.close();
    this.local.close();
  }

  private mirror(name: string): void {
    let present: boolean;
    try {
      present = this.locks.get(name) !== undefined;
    } catch {
      return; // not loaded yet: the next sync reports every record again
    }
    const pair = present ? pairOf(name) : undefined;
    if (pair) this.local.lock(pair.user, pair.address);
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.cfg.periodMs / 1000));
  }

  private async countFailure(user: string, address: string, name: string): Promise<void> {
    const failures = `${this.cfg.prefix}failures/${name}/`;
    try {
      const lease = this.client.lease(this.leaseSeconds(), { autoKeepAlive: false });
      await lease.put(`${failures}${this.serverId}.${++this.seq}`).value('');
      const count = await this.client.getAll().prefix(failures).count();
      this.up();
      if (count < this.cfg.failedAttemptLimit) return;
      if (this.local.lock(user, address))
        log.warn(
          { user: peerText(user), remote: address, failures: count },
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
      await lease.put(`${this.cfg.prefix}locked/${name}`).value(this.serverId);
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
