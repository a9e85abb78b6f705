// Readiness and liveness of the server half, from the parts it runs (docs/metrics.md, "Probes").
import type { Authenticator } from '../auth/index.js';
import { probeReasons } from '../health/index.js';
import type { TrustStore } from '../trust/index.js';

export interface ServerParts {
  trust?: TrustStore;
  authenticator?: Authenticator;
  closing(): boolean;
}

export function serverNotReady(parts: ServerParts): string[] {
  return probeReasons('ready', [
    { notReady: () => (parts.closing() ? ['shutting down'] : []) },
    parts.trust && { notReady: () => trustNotReady(parts.trust!) },
    parts.authenticator,
  ]);
}

/** Nothing in the server is known to stay broken until a restart: only an unanswered probe means "not live". */
export function serverNotLive(): string[] {
  return [];
}

function trustNotReady(trust: TrustStore): string[] {
  return trust.current().snapshot.cas.length === 0
    ? ['trust store has no usable CA certificate: every client certificate is refused']
    : [];
}
