// What the client says about classified delivery failures (src/client/refusal.ts), apart from the sending
// logic: one log line when a failure starts and when its reason changes, then one "still refused" summary
// per interval with the number of attempts instead of a line per retry, and one line when delivery works
// again; /health degraded with the reason while it lasts; refusals counted by reason in
// media_gateway_client_refusals_total. Shared by all lanes: the reason is a property of the connection
// to the server, not of a message.
import type { PartHealth } from '../health/index.js';
import { clientRefusalsTotal } from '../metrics/index.js';
import { logger } from '../util/index.js';
import { isRefusal, type DeliveryFailure, type FailureKind } from './refusal.js';

const log = logger('media_gateway::client');

/** How often a lasting failure is summarized in the log. */
export const SUMMARY_INTERVAL_MS = 60_000;

const STARTED: Record<FailureKind, string> = {
  certificate_refused: 'delivery refused: the server does not accept our client certificate',
  server_untrusted: 'delivery refused: the server certificate is not trusted (tls.root_certificate)',
  auth_refused: 'delivery refused: the server does not accept our credentials',
  transport: 'delivery failing: cannot exchange requests with the server',
};

interface Current {
  failure: DeliveryFailure;
  since: number;
  /** attempts since the reason started */
  attempts: number;
  /** attempts since the last log line */
  unreported: number;
  lastLineAt: number;
}

export class RefusalMonitor {
  private current?: Current;
  private readonly now: () => number;
  private readonly summaryIntervalMs: number;

  constructor(opts: { summaryIntervalMs?: number; now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    this.summaryIntervalMs = opts.summaryIntervalMs ?? SUMMARY_INTERVAL_MS;
  }

  /** The failure in force, if any. */
  get state(): { failure: DeliveryFailure; since: number; attempts: number } | undefined {
    const c = this.current;
    return c && { failure: c.failure, since: c.since, attempts: c.attempts };
  }

  /** An attempt failed with `f`; the next one follows in `retryDelayMs`. */
  failed(f: DeliveryFailure, retryDelayMs: number): void {
    if (isRefusal(f)) clientRefusalsTotal.inc({ reason: f.reason });
    const now = this.now();
    const c = this.current;
    if (!c || c.failure.reason !== f.reason) {
      this.current = { failure: f, since: now, attempts: 1, unreported: 0, lastLineAt: now };
      const fields = { reason: f.reason, detail: f.detail, retryDelayMs, previous: c?.failure.reason };
      if (isRefusal(f)) log.error(fields, STARTED[f.kind]);
      else log.warn(fields, STARTED[f.kind]);
      return;
    }
    c.failure = f;
    c.attempts++;
    c.unreported++;
    if (now - c.lastLineAt < this.summaryIntervalMs) return;
    log.warn(
      {
        reason: f.reason,
        attempts: c.unreported,
        sinceStart: c.attempts,
        since: new Date(c.since).toISOString(),
        retryDelayMs,
      },
      isRefusal(f) ? 'still refused' : 'still failing',
    );
    c.unreported = 0;
    c.lastLineAt = now;
  }

  /** A request went through: the failure in force (if any) is over. */
  succeeded(): void {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    log.info(
      { reason: c.failure.reason, attempts: c.attempts, durationMs: this.now() - c.since },
      'delivery works again',
    );
  }

  health(): PartHealth {
    const c = this.current;
    if (!c) return { healthy: true, reasons: [] };
    const what = isRefusal(c.failure) ? 'delivery refused' : 'delivery failing';
    return {
      healthy: false,
      reasons: [
        `${what} since ${new Date(c.since).toISOString()}: reason=${c.failure.reason} (${c.failure.detail}), ${c.attempts} attempts`,
      ],
    };
  }
}
