// The live trust store: keeps a validated snapshot of the hash directory in force and replaces it
// whenever the directory changes (fs.watch + polling fallback + debounce, so a change is in force
// within about a second), and wakes up at CRL nextUpdate / future thisUpdate instants so that
// connections can be re-checked when time alone changes a verdict.
// A failed scan (directory gone, I/O error, a snapshot Node cannot load) keeps the last good snapshot
// and marks the store degraded. Events: 'reload' (snapshot) after a changed snapshot is swapped in;
// 'tick' (snapshot) when a CRL validity boundary passes; 'poll' ('unchanged' | 'scan') on each poll.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import tls from 'node:tls';
import type { ClientAuthConfig } from '../config/types.js';
import { logger } from '../util/log.js';
import {
  trustCas,
  trustCrls,
  setEarliestCrlNextUpdate,
  trustReloadsTotal,
  trustLastGoodReload,
  trustProblems,
} from '../metrics/registry.js';
import {
  scanHashDirectory,
  nextTimeEvent,
  coverageEnd,
  ScanRaceError,
  type Problem,
  type ScanResult,
} from './scan.js';
import { contextTrust, type TrustSnapshot } from './snapshot.js';
import { directoryStamp } from './dir-stamp.js';

const log = logger('media_gateway::trust');
/** Problem codes that health() judges from the snapshot and the clock instead (they change with time). */
const JUDGED_FROM_SNAPSHOT: ReadonlySet<string> = new Set([
  'no-ca',
  'ca-without-crl',
  'crl-expired',
  'crl-not-yet-valid',
  'crl-expiring',
]);
const DEBOUNCE_MS = 100;
const SCAN_RACE_ATTEMPTS = 3;
const MAX_TIMER_MS = 2_147_000_000;
/**
 * A poll reads and parses the files only when the directory stamp moved, but at least this often anyway:
 * a full scan costs milliseconds of the event loop (measured 4-10 ms with one CA and one CRL), which
 * showed up in request latency when it ran every second.
 */
const FULL_RESCAN_MS = 30_000;

export interface TrustHealth {
  healthy: boolean;
  reasons: string[];
}

export class TrustStore extends EventEmitter {
  private snap: TrustSnapshot;
  private problems: Problem[];
  private problemsKey = '';
  private lastError: string | undefined;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private timeTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescanWanted = false;
  private closed = false;
  private watchEnabled = true;
  /** directory stamp taken just before the last successful scan */
  private stamp: string | undefined;
  private lastFullScanAt = 0;
  /** tests only: runs inside each scan between listing the directory and reading it */
  afterList: (() => Promise<void>) | undefined;

  private constructor(
    readonly cfg: ClientAuthConfig,
    first: { snapshot: TrustSnapshot; problems: Problem[] },
  ) {
    super();
    this.snap = first.snapshot;
    this.problems = first.problems;
  }

  /**
   * Scans the directory once (throws naming the directory if it is missing) and starts watching.
   * `watch: false` relies on polling alone, as on filesystems without change events.
   */
  static async open(cfg: ClientAuthConfig, opts: { watch?: boolean } = {}): Promise<TrustStore> {
    try {
      if (!(await stat(cfg.directory)).isDirectory())
        throw new Error(`client certificate directory ${cfg.directory} is not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`client certificate directory ${cfg.directory} does not exist`);
      throw e;
    }
    const stamp = await directoryStamp(cfg.directory);
    const first = await scanSettled(cfg);
    validateForNode(first.snapshot, cfg.crlEnabled);
    const store = new TrustStore(cfg, first);
    store.stamp = stamp;
    store.lastFullScanAt = Date.now();
    store.watchEnabled = opts.watch ?? true;
    store.logReload('trust store loaded');
    store.publishMetrics();
    trustReloadsTotal.inc({ result: 'success' });
    trustLastGoodReload.set(Date.now() / 1000);
    store.startWatching();
    store.pollTimer = setInterval(() => void store.poll(), Math.max(50, cfg.pollIntervalMs || 1000));
    store.pollTimer.unref();
    store.armTimeTimer();
    return store;
  }

  current(): TrustSnapshot {
    return this.snap;
  }

  /** Problems found by the latest scan (also when that scan was not swapped in). */
  currentProblems(): Problem[] {
    return this.problems;
  }

  health(now: Date = new Date()): TrustHealth {
    const reasons: string[] = [];
    if (this.lastError) reasons.push(`last trust directory reload failed: ${this.lastError}`);
    if (this.snap.cas.length === 0)
      reasons.push('no CA certificate in the trust directory: every client is refused');
    if (this.cfg.crlEnabled) {
      for (const ca of this.snap.cas) {
        const own = this.snap.crls.filter((c) => c.issuerFingerprint === ca.fingerprint);
        const end = coverageEnd(own, now);
        if (own.length === 0) reasons.push(`CA "${ca.subject}" has no CRL`);
        else if (end === null) reasons.push(`CA "${ca.subject}" has no valid CRL (expired or not yet valid)`);
        else if (end && end.getTime() - now.getTime() < this.cfg.crlExpiryWarningMs)
          reasons.push(`the CRL of CA "${ca.subject}" expires at ${end.toISOString()}`);
      }
    }
    // what the checks above judge from the snapshot is not repeated from the scan's problems
    for (const p of this.problems)
      if (p.severity === 'error' && !JUDGED_FROM_SNAPSHOT.has(p.code))
        reasons.push(`${p.code}: ${p.message}`);
    return { healthy: reasons.length === 0, reasons };
  }

  /** Scans now; a request during a scan runs one more scan after it. Resolves when done. */
  reload(): Promise<void> {
    this.rescanWanted = true;
    this.scanning ??= (async () => {
      while (this.rescanWanted && !this.closed) {
        this.rescanWanted = false;
        await this.scanOnce();
      }
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    for (const t of [this.pollTimer, this.debounceTimer, this.timeTimer]) if (t) clearTimeout(t);
    this.removeAllListeners();
  }

  private requestScan(): void {
    if (this.closed) return;
    void this.reload().catch((e: unknown) => log.error({ err: String(e) }, 'trust reload crashed'));
  }

  /** The polling fallback: a full scan only when the directory stamp moved (or FULL_RESCAN_MS passed). */
  private async poll(): Promise<void> {
    if (this.closed) return;
    const fresh = Date.now() - this.lastFullScanAt < FULL_RESCAN_MS;
    if (fresh && !this.lastError && this.stamp !== undefined) {
      const now = await directoryStamp(this.cfg.directory);
      if (now === this.stamp) {
        this.publishMetrics(); // the seconds until the earliest nextUpdate move with time alone
        this.emit('poll', 'unchanged');
        return;
      }
    }
    this.emit('poll', 'scan');
    this.requestScan();
  }

  private onFsEvent(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.requestScan(), DEBOUNCE_MS);
    this.debounceTimer.unref();
  }

  private startWatching(): void {
    if (!this.watchEnabled) return;
    try {
      this.watcher = watch(this.cfg.directory, { persistent: false }, () => this.onFsEvent());
      this.watcher.on('error', () => {
        // e.g. the directory was removed; polling carries on and re-creates the watcher
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  private async scanOnce(): Promise<void> {
    // taken before reading: a change made during the scan moves the stamp, and the next poll scans again
    const stamp = await directoryStamp(this.cfg.directory);
    let result;
    try {
      result = await scanSettled(this.cfg, this.snap, this.afterList);
      // an unchanged snapshot was validated when it came into force
      if (result.snapshot.digest !== this.snap.digest) validateForNode(result.snapshot, this.cfg.crlEnabled);
    } catch (e) {
      const msg = (e as Error).message;
      if (this.lastError !== msg)
        log.error(
          { directory: this.cfg.directory, error: msg },
          'trust directory reload failed; keeping the last good trust snapshot',
        );
      this.lastError = msg;
      trustReloadsTotal.inc({ result: 'failure' });
      return;
    }
    if (this.closed) return;
    if (this.lastError) log.info({ directory: this.cfg.directory }, 'trust directory readable again');
    this.lastError = undefined;
    this.stamp = stamp;
    this.lastFullScanAt = Date.now();
    if (!this.watcher) this.startWatching();
    this.problems = result.problems;
    if (result.snapshot.digest === this.snap.digest) {
      const key = JSON.stringify(result.problems);
      if (key !== this.problemsKey) this.logProblems();
      trustReloadsTotal.inc({ result: 'unchanged' });
      this.publishMetrics();
      return;
    }
    this.snap = result.snapshot;
    trustReloadsTotal.inc({ result: 'success' });
    trustLastGoodReload.set(Date.now() / 1000);
    this.publishMetrics();
    this.logReload('trust store reloaded');
    this.armTimeTimer();
    this.emit('reload', this.snap);
  }

  private armTimeTimer(): void {
    if (this.timeTimer) clearTimeout(this.timeTimer);
    const at = nextTimeEvent(this.snap);
    if (!at || this.closed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - Date.now()) + 5);
    this.timeTimer = setTimeout(() => {
      if (this.closed) return;
      if (Date.now() >= at.getTime()) {
        log.warn({ at: at.toISOString() }, 'a CRL validity boundary passed; re-checking connections');
        this.publishMetrics();
        this.emit('tick', this.snap);
      }
      this.armTimeTimer();
    }, delay);
    this.timeTimer.unref();
  }

  private publishMetrics(): void {
    trustProblems.reset();
    for (const p of this.problems) trustProblems.inc({ code: p.code, severity: p.severity });
    trustCas.set(this.snap.cas.length);
    trustCrls.set(this.snap.crls.length);
    const end = this.snap.earliestNextUpdate;
    setEarliestCrlNextUpdate(end);
  }

  private logReload(msg: string): void {
    const rejected = this.problems.filter((p) => p.severity === 'error').length;
    log.info(
      {
        directory: this.cfg.directory,
        cas: this.snap.cas.length,
        crls: this.snap.crls.length,
        rejected,
        warnings: this.problems.length - rejected,
        earliestNextUpdate: this.snap.earliestNextUpdate?.toISOString() ?? 'none',
        digest: this.snap.digest.slice(0, 16),
      },
      msg,
    );
    this.logProblems();
  }

  private logProblems(): void {
    this.problemsKey = JSON.stringify(this.problems);
    for (const p of this.problems)
      log[p.severity === 'error' ? 'error' : 'warn']({ code: p.code, file: p.file }, p.message);
  }
}

/** Node must accept the snapshot as a context (e.g. no unsupported key types); throws otherwise. */
function validateForNode(snap: TrustSnapshot, crlEnabled: boolean): void {
  try {
    tls.createSecureContext(contextTrust(snap, crlEnabled));
  } catch (e) {
    throw new Error(`the trust snapshot cannot be loaded by TLS: ${(e as Error).message}`);
  }
}

/** A scan that raced with changes (ScanRaceError) is repeated briefly rather than swapped in partial. */
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
