// Request authentication for the server: HTTP Basic against Argon2 hashes in etcd user records, and
// verified client certificates mapped to etcd identity records; plus routing-label authorization.
// Statuses follow the original (src/contract/http.ts): a missing or unreadable header asks for credentials (401 with
// a challenge), every refused credential is a bare 401, and a user store that cannot answer is a 500.
// Against guessing floods (docs/security.md): an address over its failure rate gets 429 before any
// hashing, Argon2 runs within a bounded budget (503 beyond it, ./verify-gate.ts), unknown users are
// verified against a dummy hash so they cost and take what a wrong password does, and the unauthenticated
// metrics count both as `bad_credentials`.
import {
  ConfigError,
  type BasicAuthServerConfig,
  type CertificateIdentityConfig,
  type EtcdConfig,
  type ServerLimits,
  DEFAULT_SERVER_LIMITS,
} from '../config/index.js';
import { EventEmitter } from 'node:events';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import type { Etcd3 } from 'etcd3';
import { verificationsRefusedTotal, addressKey } from '../limits/index.js';
import { dummyParameters, makeDummyHash, type DummyParameters } from './dummy-hash.js';
import { FailureLimiter } from './failure-limiter.js';
import { VerifyGate } from './verify-gate.js';
import type { PeerIdentity } from '../tls/index.js';
import { authOutcomesTotal, etcdConnected } from '../metrics/index.js';
import { logger, peerText } from '../util/index.js';
import { matchLabels, type LabelRule } from './labels.js';
import { parseUserRecord, type UserRecord } from './records.js';
import { LruCache } from './lru.js';
import { Quarantine, type QuarantineTable } from './quarantine.js';
import { SharedQuarantine } from './shared-quarantine.js';
import { createEtcdClient, etcdPrefix } from './etcd-client.js';
import { EtcdRecordStore, StoreUnavailableError } from './user-store.js';

const log = logger('media_gateway::auth');
/** How long record changes are gathered before the dummy hash's parameters are recounted. */
const DUMMY_REFRESH_MS = 200;

export type AuthDecision =
  | { ok: true; user: string; rule?: LabelRule }
  | {
      ok: false;
      status: 401 | 429 | 500 | 503;
      challenge: boolean;
      reason: string;
      /** 429/503: when to try again */
      retryAfterSeconds?: number;
    };

type Granted = Extract<AuthDecision, { ok: true }>;

/** A parsed record or the reason it could not be parsed, for one stored version of one key. */
type ParsedRecord = { revision: string; record?: UserRecord; error?: string };

/** What a credential check concluded for one stored hash (identified by its SHA-256). */
interface CredentialVerdict {
  hashDigest: Buffer;
  valid: boolean;
}

export function certificateIdentityPrefix(
  basic: BasicAuthServerConfig,
  cfg: CertificateIdentityConfig,
): string {
  return cfg.path ? etcdPrefix(cfg.path) : etcdPrefix(basic.etcd.path) + 'certificates/';
}

export function certificateName(
  identity: PeerIdentity,
  from: CertificateIdentityConfig['from'],
): string | undefined {
  if (from === 'cn') return identity.commonName || undefined;
  if (from === 'dns') return identity.dnsNames[0];
  return identity.uris[0];
}

/** Splits `Basic <base64(user[:password])>`; undefined when the header is not that. */
export function parseBasicHeader(
  header: string | undefined,
): { user: string; password?: string } | undefined {
  const m = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header ?? '');
  if (!m || m[1].length % 4 === 1) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(m[1], 'base64'));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  return colon < 0
    ? { user: decoded }
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function refuse(
  method: string,
  result: string,
  status: 401 | 500,
  reason: string,
  challenge = false,
): AuthDecision {
  authOutcomesTotal.inc({ method, result });
  return { ok: false, status, challenge, reason };
}

/** 429 (this address failed too often) or 503 (the Argon2 budget is full): try again after `seconds`. */
function later(status: 429 | 503, result: string, reason: string, seconds: number): AuthDecision {
  authOutcomesTotal.inc({ method: 'basic', result });
  verificationsRefusedTotal.inc({ reason: result });
  return { ok: false, status, challenge: false, reason, retryAfterSeconds: Math.max(1, seconds) };
}

/** The password check's answer: a verdict, or none because the Argon2 budget is full or the address failed too often. */
type PasswordCheck = boolean | 'busy' | 'rate_limited';

export class Authenticator {
  /** 'change' (name) when a user or identity record changes; 'synced' / 'disconnected' from the stores */
  readonly events = new EventEmitter();
  /** Argon2 verifications actually run (the credential cache should keep this low) */
  verifications = 0;

  private readonly hmacKey = randomBytes(32);
  /**
   * Verdicts on credentials, the valid ones apart: failed guesses (which anyone can make in any number)
   * only evict other failed guesses, never the verdict of a user who logged in.
   */
  private readonly verdicts?: LruCache<string, CredentialVerdict>;
  private readonly refusedVerdicts?: LruCache<string, CredentialVerdict>;
  private readonly inflight = new Map<string, Promise<boolean>>();
  private readonly parsed?: LruCache<string, ParsedRecord>;
  private quarantine?: QuarantineTable;
  /**
   * With a shared quarantine: failed logins per address key (src/limits/address.ts) counted across the fleet
   * as pairs of an empty user, limit auth_failures_per_address per auth_failure_period, so round-robining
   * servers does not multiply an address's budget for guesses spread over many users (password spraying).
   * The local FailureLimiter stays the first, per-server bound.
   */
  private addressRate?: QuarantineTable;
  private readonly gate: VerifyGate;
  private readonly failureLimiter: FailureLimiter;
  private dummy: { params: DummyParameters; hash: string } | undefined;
  private dummyTimer: NodeJS.Timeout | undefined;
  private dummyRefresh: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly basic: BasicAuthServerConfig | undefined,
    private readonly certCfg: CertificateIdentityConfig | undefined,
    private readonly client: Etcd3 | undefined,
    private readonly users: EtcdRecordStore | undefined,
    private readonly identities: EtcdRecordStore | undefined,
    limits: ServerLimits = DEFAULT_SERVER_LIMITS,
  ) {
    this.gate = new VerifyGate(limits.maxConcurrentVerifications, limits.maxQueuedVerifications);
    this.failureLimiter = new FailureLimiter(limits.authFailuresPerAddress, limits.authFailurePeriodMs);
    if (basic) {
      this.verdicts = new LruCache('credentials', basic.cache);
      this.refusedVerdicts = new LruCache('refused credentials', basic.cache);
      this.parsed = new LruCache('users', basic.etcd.cache);
      if (basic.quarantine)
        this.quarantine = new Quarantine(basic.quarantine, basic.cache, limits.quarantineCapacity);
    }
    users?.on('change', () => this.scheduleDummyRefresh());
    users?.on('synced', () => this.scheduleDummyRefresh());
    for (const store of [users, identities]) {
      if (!store) continue;
      store.on('change', (name) => this.events.emit('change', name));
      store.on('synced', () => this.onStoreState());
      store.on('disconnected', () => this.onStoreState());
    }
  }

  static async open(cfg: {
    basic?: BasicAuthServerConfig;
    certificateIdentity?: CertificateIdentityConfig;
    limits?: ServerLimits;
  }): Promise<Authenticator> {
    const { basic, certificateIdentity, limits } = cfg;
    if (certificateIdentity && !basic) {
      throw new ConfigError(
        {},
        'auth.certificate_identity needs auth.basic: its etcd settings say where the identity records are',
      );
    }
    if (!basic) return new Authenticator(undefined, undefined, undefined, undefined, undefined);
    const client = await createEtcdClient(basic.etcd);
    const users = new EtcdRecordStore(client, etcdPrefix(basic.etcd.path), basic.etcd.connectTimeoutMs);
    const identities = certificateIdentity
      ? new EtcdRecordStore(
          client,
          certificateIdentityPrefix(basic, certificateIdentity),
          basic.etcd.connectTimeoutMs,
        )
      : undefined;
    const auth = new Authenticator(basic, certificateIdentity, client, users, identities, limits);
    const shared = basic.quarantine?.shared;
    const sharing =
      shared && auth.quarantine instanceof Quarantine
        ? SharedQuarantine.open(auth.quarantine, client, {
            prefix: etcdPrefix(shared.prefix),
            periodMs: basic.quarantine!.periodMs,
            failedAttemptLimit: basic.quarantine!.failedAttemptLimit,
            connectTimeoutMs: basic.etcd.connectTimeoutMs,
          })
        : undefined;
    const lim = limits ?? DEFAULT_SERVER_LIMITS;
    const addressSharing = shared
      ? SharedQuarantine.open(
          new Quarantine(
            { periodMs: lim.authFailurePeriodMs, failedAttemptLimit: lim.authFailuresPerAddress },
            basic.cache,
            lim.quarantineCapacity,
            Date.now,
            false,
          ),
          client,
          {
            prefix: `${etcdPrefix(shared.prefix)}addresses/`,
            periodMs: lim.authFailurePeriodMs,
            failedAttemptLimit: lim.authFailuresPerAddress,
            connectTimeoutMs: basic.etcd.connectTimeoutMs,
            lockMessage: 'address rate-limited for failed logins (counted across servers)',
          },
        )
      : undefined;
    const [table, addressTable] = await Promise.all([
      sharing,
      addressSharing,
      users.start(),
      identities?.start(),
    ]);
    if (table) auth.quarantine = table;
    if (addressTable) auth.addressRate = addressTable;
    // after the first load: the dummy takes the parameters of the stored hashes
    await auth.refreshDummy();
    auth.onStoreState();
    return auth;
  }

  /** The parameters of the hash unknown users are verified against (./dummy-hash.ts). */
  get dummyParameters(): DummyParameters | undefined {
    return this.dummy?.params;
  }

  /** Record changes come in bursts (a whole sync): the parameters are recounted once per burst. */
  private scheduleDummyRefresh(): void {
    if (this.dummyTimer || this.closed) return;
    this.dummyTimer = setTimeout(() => {
      this.dummyTimer = undefined;
      void this.refreshDummy();
    }, DUMMY_REFRESH_MS);
    this.dummyTimer.unref();
  }

  /**
   * Gives the dummy hash the parameters most stored hashes have; a new dummy is hashed only when they
   * changed. Emits 'dummy' (parameters) after each refresh, for tests.
   */
  private refreshDummy(): Promise<void> {
    const run = async () => {
      const params = dummyParameters(this.storedHashes());
      if (!this.dummy || JSON.stringify(params) !== JSON.stringify(this.dummy.params)) {
        try {
          this.dummy = { params, hash: await makeDummyHash(params) };
          log.info(params, 'unknown users are verified against a dummy hash with these Argon2 parameters');
        } catch (err) {
          // parameters argon2 refuses (e.g. a memory cost below its minimum): such hashes are refused
          // anyway; the dummy keeps what it had, or the defaults
          log.warn({ ...params, error: (err as Error).message }, 'no dummy hash with these parameters');
          if (!this.dummy) this.dummy = { params: dummyParameters([]), hash: await makeDummyHash() };
        }
      }
      this.events.emit('dummy', this.dummy.params);
    };
    // one refresh at a time, in order
    const next = (this.dummyRefresh ?? Promise.resolve()).then(run).catch((err: unknown) => {
      log.error({ error: (err as Error).message }, 'the dummy hash could not be made');
    });
    this.dummyRefresh = next;
    return next;
  }

  /** The password hash of every stored user record (records that do not parse are skipped). */
  private *storedHashes(): Generator<string> {
    if (!this.users?.loaded) return;
    for (const stored of this.users.values()) {
      try {
        const hash = parseUserRecord(stored.value, this.basic!.etcd.dataFormat, '').password_hash;
        if (hash) yield hash;
      } catch {
        // an invalid record is refused with 500 when used; it says nothing about parameters
      }
    }
  }

  private onStoreState(): void {
    const stores = [this.users, this.identities].filter((s): s is EtcdRecordStore => !!s);
    const up = stores.every((s) => s.connected);
    etcdConnected.set(up ? 1 : 0);
    this.events.emit(up ? 'synced' : 'disconnected');
  }

  /** The record of `name` in `store`, parsed once per stored version. */
  private lookup(
    store: EtcdRecordStore,
    name: string,
  ): { record?: UserRecord; error?: string; missing?: true } {
    const stored = store.get(name);
    if (!stored) return { missing: true };
    const cacheKey = store.prefix + name;
    let p = this.parsed!.get(cacheKey);
    if (!p || p.revision !== stored.revision) {
      try {
        p = {
          revision: stored.revision,
          record: parseUserRecord(stored.value, this.basic!.etcd.dataFormat, cacheKey),
        };
      } catch (err) {
        p = { revision: stored.revision, error: (err as Error).message };
      }
      this.parsed!.set(cacheKey, p);
    }
    return p;
  }

  async authenticateBasic(authorization: string | undefined, clientAddress: string): Promise<AuthDecision> {
    const M = 'basic';
    if (!this.basic || !this.users) return refuse(M, 'not_configured', 500, 'basic auth is not configured');
    const creds = parseBasicHeader(authorization);
    if (!creds) return refuse(M, 'missing_header', 401, 'missing or malformed Authorization header', true);
    const { user, password } = creds;
    if (this.quarantine?.isQuarantined(user, clientAddress))
      return refuse(M, 'quarantined', 401, 'quarantined');
    // no password: refused, but not a guess, so it does not count towards quarantine
    if (password === undefined) return refuse(M, 'missing_password', 401, 'password missing');

    let found;
    try {
      found = this.lookup(this.users, user);
    } catch (err) {
      if (err instanceof StoreUnavailableError) return refuse(M, 'store_error', 500, err.message);
      throw err;
    }
    if (found.error) {
      log.error({ user, error: found.error }, 'invalid user record in etcd');
      return refuse(M, 'store_error', 500, 'invalid user record');
    }
    // Unknown users and records without a hash are checked against the dummy hash: same work, same time.
    const hash = found.record?.password_hash;
    const why = found.missing ? 'unknown user' : !hash ? 'user record has no password hash' : undefined;
    let verdict: PasswordCheck;
    try {
      verdict = await this.checkPassword(user, password, hash ?? this.dummy!.hash, clientAddress);
    } catch (err) {
      log.warn({ user, error: (err as Error).message }, 'stored password hash cannot be used');
      return this.failed(user, clientAddress, 'unparsable stored hash');
    }
    if (verdict === 'busy') return later(503, 'busy', 'too many password verifications', 1);
    if (verdict === 'rate_limited')
      return later(
        429,
        'rate_limited',
        'too many failed logins from this address',
        this.sharedRateLimited(clientAddress)
          ? Math.max(1, this.failureLimiter.retryAfterSeconds(clientAddress))
          : this.failureLimiter.retryAfterSeconds(clientAddress),
      );
    if (why || !verdict) return this.failed(user, clientAddress, why ?? 'wrong password');
    this.quarantine?.recordSuccess(user, clientAddress);
    authOutcomesTotal.inc({ method: M, result: 'ok' });
    const rule = found.record?.allowed_routing_labels;
    return rule ? { ok: true, user, rule } : { ok: true, user };
  }

  /**
   * A refused credential: counted towards the address's failure rate and the pair's quarantine. The
   * metric says only `bad_credentials`: /metrics is unauthenticated and must not tell who exists.
   */
  private failed(user: string, clientAddress: string, reason: string): AuthDecision {
    this.failureLimiter.recordFailure(clientAddress);
    this.addressRate?.recordFailure('', addressKey(clientAddress));
    const outcome = this.quarantine?.recordFailure(user, clientAddress);
    if (outcome === 'table_full') {
      verificationsRefusedTotal.inc({ reason: 'quarantine_full' });
      log.error('the quarantine table is full (limits.quarantine_capacity); new lockouts are not recorded');
    }
    // the user name is the peer's text: escaped; the address is the client's (src/util/client-address.ts)
    if (outcome === 'quarantined')
      log.warn(
        { user: peerText(user), remote: clientAddress },
        'user quarantined for failed logins from this address',
      );
    log.debug({ user: peerText(user), remote: clientAddress, reason }, 'Basic credentials refused');
    return refuse('basic', 'bad_credentials', 401, reason);
  }

  /**
   * Argon2 once per (user, password, stored hash): the verdict is cached under an HMAC of the credentials
   * with a per-process key, so no plain password is ever kept, and a changed hash invalidates it. A cached
   * verdict is answered at once; an uncached one first needs the address to be under its failure rate
   * and a place in the Argon2 budget.
   */
  private async checkPassword(
    user: string,
    password: string,
    hash: string,
    clientAddress: string,
  ): Promise<PasswordCheck> {
    const key = createHmac('sha256', this.hmacKey).update(`${user}:${password}`).digest('base64');
    const hashDigest = createHash('sha256').update(hash).digest();
    for (const cache of [this.verdicts!, this.refusedVerdicts!]) {
      const cached = cache.get(key);
      if (cached && timingSafeEqual(cached.hashDigest, hashDigest)) return cached.valid;
    }
    if (this.failureLimiter.retryAfterSeconds(clientAddress) > 0 || this.sharedRateLimited(clientAddress))
      return 'rate_limited';
    // concurrent requests with the same credentials share one verification
    const flightKey = key + hashDigest.toString('base64');
    let pending = this.inflight.get(flightKey);
    if (!pending) {
      const started = this.gate.run(() => argon2.verify(hash, password));
      if (!started) return 'busy';
      this.verifications++;
      pending = started.finally(() => this.inflight.delete(flightKey));
      this.inflight.set(flightKey, pending);
    }
    const valid = await pending;
    (valid ? this.verdicts! : this.refusedVerdicts!).set(key, { hashDigest, valid });
    return valid;
  }

  async authenticateCertificate(identity: PeerIdentity): Promise<AuthDecision> {
    const M = 'certificate';
    if (!this.certCfg || !this.identities)
      return refuse(M, 'not_configured', 500, 'certificate identity is not configured');
    const name = certificateName(identity, this.certCfg.from);
    let found;
    try {
      found = name === undefined ? { missing: true as const } : this.lookup(this.identities, name);
    } catch (err) {
      if (err instanceof StoreUnavailableError) return refuse(M, 'store_error', 500, err.message);
      throw err;
    }
    if (found.error) {
      log.error({ identity: name, error: found.error }, 'invalid certificate identity record in etcd');
      return refuse(M, 'store_error', 500, 'invalid certificate identity record');
    }
    const user = name ?? identity.subject;
    if (found.missing) {
      if (this.certCfg.required) {
        return refuse(
          M,
          'unknown_identity',
          401,
          `no identity record for certificate ${this.certCfg.from} ${JSON.stringify(name ?? '')}`,
        );
      }
      authOutcomesTotal.inc({ method: M, result: 'ok_without_record' });
      return { ok: true, user };
    }
    authOutcomesTotal.inc({ method: M, result: 'ok' });
    const rule = found.record?.allowed_routing_labels;
    return rule ? { ok: true, user, rule } : { ok: true, user };
  }

  authorize(decision: Granted, routingLabels: string[]): boolean {
    const allowed = !decision.rule || matchLabels(decision.rule, routingLabels);
    authOutcomesTotal.inc({ method: 'labels', result: allowed ? 'allowed' : 'denied' });
    return allowed;
  }

  health(): { healthy: boolean; reasons: string[] } {
    const reasons: string[] = [];
    for (const store of [this.users, this.identities]) {
      if (!store) continue;
      if (!store.loaded) reasons.push(`etcd records under ${store.prefix} not loaded yet (requests get 500)`);
      else if (!store.connected)
        reasons.push(`etcd unreachable; serving ${store.count} records under ${store.prefix} loaded earlier`);
    }
    return { healthy: reasons.length === 0, reasons };
  }

  /** Readiness (src/health/probes.ts): records never loaded from etcd means every request gets 500. */
  notReady(): string[] {
    return [this.users, this.identities]
      .filter((store) => store && !store.loaded)
      .map((store) => `etcd never reached: records under ${store!.prefix} not loaded`);
  }

  /** The fleet has seen auth_failures_per_address failures from this address within the period. */
  private sharedRateLimited(clientAddress: string): boolean {
    return this.addressRate?.isQuarantined('', addressKey(clientAddress)) ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.dummyTimer) clearTimeout(this.dummyTimer);
    await Promise.all([this.users?.close(), this.identities?.close()]);
    await this.addressRate?.close();
    this.addressRate = undefined;
    // the shared quarantine's mirror uses the etcd client: closed before it
    await this.quarantine?.close();
    this.quarantine = undefined;
    this.client?.close();
    this.verdicts?.close();
    this.refusedVerdicts?.close();
    this.parsed?.close();
  }
}

export type { EtcdConfig };
