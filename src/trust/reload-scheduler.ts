// What triggers trust reloads, apart from the reload itself (./store.ts), as ghostunnel keeps its
// signal and timer handlers apart from Reload(): file-system events (debounced), a polling fallback
// for file systems without events, and a timer at the next CRL validity instant (nextUpdate or a
// future thisUpdate), when time alone changes verdicts and open connections must be re-checked.
// Events: 'poll' ('unchanged' | 'scan') on each poll; 'tick' (state) when a CRL validity boundary passes.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { logger } from '../util/index.js';
import { MAX_TIMER_MS } from '../util/timers.js';
import { nextTimeEvent } from './scan.js';
import { directoryStamp } from './dir-stamp.js';
import type { TrustState, TrustStore } from './store.js';

const log = logger('media_gateway::trust');
/** File events come in bursts (an editor or `c_rehash` writes several files): one scan after the burst. */
const DEBOUNCE_MS = 100;
/**
 * A poll reads and parses the files only when the directory stamp moved, but at least this often anyway:
 * a full scan costs milliseconds of the event loop (measured 4-10 ms with one CA and one CRL), which
 * showed up in request latency when it ran every second.
 */
const FULL_RESCAN_MS = 30_000;

export interface ReloadSchedulerEvents {
  poll: [what: 'unchanged' | 'scan'];
  tick: [state: TrustState];
}

export interface ReloadSchedulerOptions {
  /** false: polling alone, as on file systems without change events (default true) */
  watch?: boolean;
}

export class ReloadScheduler extends EventEmitter<ReloadSchedulerEvents> {
  private watcher: FSWatcher | undefined;
  private readonly pollTimer: NodeJS.Timeout;
  private debounceTimer: NodeJS.Timeout | undefined;
  private timeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly watchEnabled: boolean;

  constructor(
    private readonly store: TrustStore,
    opts: ReloadSchedulerOptions = {},
  ) {
    super();
    this.watchEnabled = opts.watch ?? true;
    this.startWatching();
    this.pollTimer = setInterval(() => void this.poll(), Math.max(50, store.cfg.pollIntervalMs || 1000));
    this.pollTimer.unref();
    store.on('reload', () => this.armTimeTimer());
    store.on('scan', (o) => {
      // the directory is readable again after a failure: events may work again too
      if (o.result !== 'failure' && !this.watcher) this.startWatching();
    });
    this.armTimeTimer();
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    for (const t of [this.pollTimer, this.debounceTimer, this.timeTimer]) if (t) clearTimeout(t);
    this.removeAllListeners();
  }

  private requestScan(): void {
    if (this.closed) return;
    void this.store.reload().catch((e: unknown) => log.error({ err: String(e) }, 'trust reload crashed'));
  }

  /** The polling fallback: a full scan only when the directory stamp moved (or FULL_RESCAN_MS passed). */
  private async poll(): Promise<void> {
    if (this.closed) return;
    const last = this.store.lastScan();
    const fresh = Date.now() - last.at < FULL_RESCAN_MS;
    if (fresh && !this.store.failure() && last.stamp !== undefined) {
      const now = await directoryStamp(this.store.cfg.directory);
      if (now === last.stamp) {
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
    if (!this.watchEnabled || this.closed) return;
    try {
      this.watcher = watch(this.store.cfg.directory, { persistent: false }, () => this.onFsEvent());
      this.watcher.on('error', () => {
        // e.g. the directory was removed; polling carries on and re-creates the watcher
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  private armTimeTimer(): void {
    if (this.timeTimer) clearTimeout(this.timeTimer);
    const at = nextTimeEvent(this.store.current().snapshot);
    if (!at || this.closed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - Date.now()) + 5);
    this.timeTimer = setTimeout(() => {
      if (this.closed) return;
      if (Date.now() >= at.getTime()) this.emit('tick', this.store.current());
      this.armTimeTimer();
    }, delay);
    this.timeTimer.unref();
  }
}
