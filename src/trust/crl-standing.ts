// The one judgement of a CA's CRLs at an instant, shared by the scan (problem reports), the store's
// health and the per-connection check (./verify.ts), so the three can never disagree.
// Time-valid means thisUpdate <= now < nextUpdate (no nextUpdate: valid for ever). As OpenSSL does, a
// time-valid CRL beats an invalid one and then the latest thisUpdate wins; on a tie (same second)
// OpenSSL's pick is arbitrary, so every tied CRL is "in force" and a revocation in any of them counts.
import type { CaEntry, CrlEntry, TrustSnapshot } from './snapshot.js';

export type CrlStanding =
  | { state: 'missing' }
  /** `until`: when the coverage ends (the latest nextUpdate of the valid ones); undefined: never */
  | { state: 'valid'; inForce: CrlEntry[]; until?: Date }
  /** `lastEnd`: the latest nextUpdate of the CA's CRLs */
  | { state: 'expired'; inForce: CrlEntry[]; lastEnd: Date }
  /** `firstStart`: the earliest future thisUpdate */
  | { state: 'not_yet_valid'; inForce: CrlEntry[]; firstStart: Date };

/** The CRLs of `ca` in a snapshot (the CA whose key verified each CRL's signature). */
export function crlsOf(snap: TrustSnapshot, ca: CaEntry): CrlEntry[] {
  return snap.crls.filter((c) => c.issuerFingerprint === ca.fingerprint);
}

export function crlStanding(own: readonly CrlEntry[], now: Date | number): CrlStanding {
  if (own.length === 0) return { state: 'missing' };
  const t = typeof now === 'number' ? now : now.getTime();
  const valid = own.filter(
    (c) => c.thisUpdate.getTime() <= t && (!c.nextUpdate || t < c.nextUpdate.getTime()),
  );
  const pool = valid.length ? valid : own;
  const newest = Math.max(...pool.map((c) => c.thisUpdate.getTime()));
  const inForce = pool.filter((c) => c.thisUpdate.getTime() === newest);
  if (valid.length > 0) {
    if (valid.some((c) => !c.nextUpdate)) return { state: 'valid', inForce };
    return {
      state: 'valid',
      inForce,
      until: new Date(Math.max(...valid.map((c) => c.nextUpdate!.getTime()))),
    };
  }
  const future = own.filter((c) => c.thisUpdate.getTime() > t);
  if (future.length > 0)
    return {
      state: 'not_yet_valid',
      inForce,
      firstStart: new Date(Math.min(...future.map((c) => c.thisUpdate.getTime()))),
    };
  return {
    state: 'expired',
    inForce,
    lastEnd: new Date(Math.max(...own.map((c) => c.nextUpdate?.getTime() ?? 0))),
  };
}
