// The live trust store, reduced to "reload / current": it holds one TrustState, the snapshot of the hash
// directory together with the TLS SecureContext built from it, and replaces the pair in one assignment
// when a reload finds a changed directory. The pair is built and validated before it is published (a
// snapshot Node cannot load never comes into force), so no connection can see a context matched with
// another snapshot, as ghostunnel's certloader pairs its TLS config with the pool it was built from.
// A failed reload (directory gone, I/O error, a snapshot Node cannot load) keeps the last good state.
// What triggers reloads (file events, polling, debounce, CRL validity instants) is ./reload-scheduler.ts;
// metrics and logs observe the events below (./observe.ts); health is judged in ./health.ts.
// Events: 'reload' (state) after a changed state is published; 'scan' (outcome) after every reload.
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import tls from 'node:tls';
import type { ClientAuthConfig } from '../config/index.js';
import { scanHashDirectory, type Problem, type ScanResult } from './scan.js';
import { contextTrust, type TrustSnapshot } from './snapshot.js';
import { directoryStamp } from './dir-stamp.js';
import { ScanRaceError, TrustContextError, TrustDirectoryError } from './errors.js';

const SCAN_RACE_ATTEMPTS = 3;

/** What a TLS server trusts, published whole: never a context of one snapshot with another snapshot. */
export interface TrustState {
  readonly snapshot: TrustSnapshot;
  /** the options `secureContext` was built from, for `server.setSecureContext` */
  readonly contextOptions: tls.SecureContextOptions;
  readonly secureContext: tls.SecureContext;
}

export type ReloadOutcome =
  | { result: 'success' | 'unchanged'; recovered: boolean; problemsChanged: boolean }
  | { result: 'failure'; error: string; repeated: boolean };

export interface TrustStoreEvents {
  reload: [state: TrustState];
  scan: [outcome: ReloadOutcome];
}

export interface TrustStoreOptions {
  /** SecureContext options every state is built with besides the trust (server identity, minVersion) */
  contextBase?: tls.SecureContextOptions;
  /** tests only: runs inside each reload scan between listing the directory and reading it (races) */
  afterList?: () => Promise<void>;
}

export class TrustStore extends EventEmitter<TrustStoreEvents> {
  private state: TrustState;
  private latestProblems: Problem[];
  private lastError: string | undefined;
  private scanning: Promise<ReloadOutcome> | undefined;
  private rescanWanted = false;
  private closed = false;
  /** directory stamp taken just before the scan of the state in force, and when that scan ran */
  private scanned: { stamp: string | undefined; at: number };

  private constructor(
    readonly cfg: ClientAuthConfig,
    private readonly opts: TrustStoreOptions,
    first: { state: TrustState; problems: Problem[]; stamp: string | undefined },
  ) {
    super();
    this.state = first.state;
    this.latestProblems = first.problems;
    this.scanned = { stamp: first.stamp, at: Date.now() };
  }

  /** Scans the directory once and builds the first state; throws naming the directory if it is unusable. */
  static async open(cfg: ClientAuthConfig, opts: TrustStoreOptions = {}): Promise<TrustStore> {
    try {
      if (!(await stat(cfg.directory)).isDirectory())
        throw new TrustDirectoryError(`client certificate directory ${cfg.directory} is not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new TrustDirectoryError(`client certificate directory ${cfg.directory} does not exist`);
      throw e;
    }
    const stamp = await directoryStamp(cfg.directory);
    const first = await scanSettled(cfg);
    const state = buildTrustState(first.snapshot, cfg.crlEnabled, opts.contextBase);
    return new TrustStore(cfg, opts, { state, problems: first.problems, stamp });
  }

  current(): TrustState {
    return this.state;
  }

  /** Problems found by the latest scan (also when that scan was not published). */
  problems(): Problem[] {
    return this.latestProblems;
  }

  /** Why the latest reload failed, while the last good state stays in force; undefined when it succeeded. */
  failure(): string | undefined {
    return this.lastError;
  }

  /** The directory stamp taken before the scan of the state in force, and when that scan ran. */
  lastScan(): { stamp: string | undefined; at: number } {
    return this.scanned;
  }

  /** Scans now; a request during a scan runs one more scan after it. Resolves with the last outcome. */
  reload(): Promise<ReloadOutcome> {
    this.rescanWanted = true;
    this.scanning ??= (async () => {
      let outcome: ReloadOutcome = { result: 'unchanged', recovered: false, problemsChanged: false };
      while (this.rescanWanted && !this.closed) {
        this.rescanWanted = false;
        outcome = await this.scanOnce();
      }
      return outcome;
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  close(): void {
    this.closed = true;
    this.removeAllListeners();
  }

  private async scanOnce(): Promise<ReloadOutcome> {
    // taken before reading: a change made during the scan moves the stamp, and the next poll scans again
    const stamp = await directoryStamp(this.cfg.directory);
    const before = this.state.snapshot;
    let result: ScanResult;
    let next: TrustState | undefined;
    try {
      result = await scanSettled(this.cfg, before, this.opts.afterList);
      // an unchanged snapshot was validated when it came into force
      if (result.snapshot.digest !== before.digest)
        next = buildTrustState(result.snapshot, this.cfg.crlEnabled, this.opts.contextBase);
    } catch (e) {
      const error = (e as Error).message;
      const repeated = this.lastError === error;
      this.lastError = error;
      return this.report({ result: 'failure', error, repeated });
    }
    if (this.closed) return { result: 'unchanged', recovered: false, problemsChanged: false };
    const recovered = this.lastError !== undefined;
    this.lastError = undefined;
    this.scanned = { stamp, at: Date.now() };
    const problemsChanged = JSON.stringify(result.problems) !== JSON.stringify(this.latestProblems);
    this.latestProblems = result.problems;
    if (!next) return this.report({ result: 'unchanged', recovered, problemsChanged });
    this.state = next; // the one assignment that publishes snapshot and context together
    this.emit('reload', next);
    return this.report({ result: 'success', recovered, problemsChanged });
  }

  private report(outcome: ReloadOutcome): ReloadOutcome {
    this.emit('scan', outcome);
    return outcome;
  }
}

/**
 * Builds the SecureContext of a snapshot, which is also the validation that Node accepts it (e.g. no
 * unsupported key types); throws TrustContextError otherwise.
 */
export function buildTrustState(
  snapshot: TrustSnapshot,
  crlEnabled: boolean,
  base: tls.SecureContextOptions = {},
): TrustState {
  const contextOptions = { ...base, ...contextTrust(snapshot, crlEnabled) };
  try {
    return { snapshot, contextOptions, secureContext: tls.createSecureContext(contextOptions) };
  } catch (e) {
    throw new TrustContextError(`the trust snapshot cannot be loaded by TLS: ${(e as Error).message}`);
  }
}

/** A scan that raced with changes (ScanRaceError) is repeated briefly rather than published partial. */
async function scanSettled(
  cfg: ClientAuthConfig,
  previous?: TrustSnapshot,
  afterList?: () => Promise<void>,
): Promise<ScanResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scanHashDirectory(cfg.directory, {
        crlEnabled: cfg.crlEnabled,
        crlExpiryWarningMs: cfg.crlExpiryWarningMs,
        ...(previous ? { previous } : {}),
        ...(afterList ? { afterList } : {}),
      });
    } catch (e) {
      if (!(e instanceof ScanRaceError) || attempt >= SCAN_RACE_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
