// The health of the live trust store: judged from the state in force and the clock (CRL validity by
// ./crl-standing.ts, the same judgement the scan and the per-connection check use), plus the problems of
// the latest scan and a failed reload.
import type { TrustStore } from './store.js';
import { crlStanding, crlsOf } from './crl-standing.js';
import type { ProblemCode } from './scan.js';

export interface TrustHealth {
  healthy: boolean;
  reasons: string[];
}

/** Problem codes judged here from the snapshot and the clock instead (they change with time alone). */
const JUDGED_FROM_SNAPSHOT: ReadonlySet<ProblemCode> = new Set([
  'no_ca',
  'ca_without_crl',
  'crl_expired',
  'crl_not_yet_valid',
  'crl_expiring',
]);

export function trustHealth(store: TrustStore, now: Date = new Date()): TrustHealth {
  const reasons: string[] = [];
  const snap = store.current().snapshot;
  const failure = store.failure();
  if (failure) reasons.push(`last trust directory reload failed: ${failure}`);
  if (snap.cas.length === 0)
    reasons.push('no CA certificate in the trust directory: every client is refused');
  if (store.cfg.crlEnabled) {
    for (const ca of snap.cas) {
      const standing = crlStanding(crlsOf(snap, ca), now);
      if (standing.state === 'missing') reasons.push(`CA "${ca.subject}" has no CRL`);
      else if (standing.state !== 'valid')
        reasons.push(`CA "${ca.subject}" has no valid CRL (expired or not yet valid)`);
      else if (standing.until && standing.until.getTime() - now.getTime() < store.cfg.crlExpiryWarningMs)
        reasons.push(`the CRL of CA "${ca.subject}" expires at ${standing.until.toISOString()}`);
    }
  }
  for (const p of store.problems())
    if (p.severity === 'error' && !JUDGED_FROM_SNAPSHOT.has(p.code)) reasons.push(`${p.code}: ${p.message}`);
  return { healthy: reasons.length === 0, reasons };
}
