// The rule that a revocation, once loaded, is never forgotten while the process runs: per CA, the newest CRL
// ever in force (highest thisUpdate, highest CRL Number) is a floor. A CRL whose thisUpdate is still in the
// future is not in force yet and neither raises a floor nor counts against one (a CRL published early by
// mistake must not lock its CA out until that date). When files change or vanish so that a
// CA's newest CRL is older than its floor, the CA's CRLs are taken out of the snapshot, which refuses its
// clients (OpenSSL: no CRL; src/trust/verify.ts: crl_rollback) until a CRL at least as new is present again.
// Floors live in the snapshot and are carried from one scan to the next, so they last as long as the process.
// CRLs older than the floor are taken out of the snapshot too: when the newest CRL expires, an older one that
// is still within its validity (without the newest revocations) must not take over.
// A floor belongs to the CA's subject and key, not to its certificate: a CA certificate re-issued with the same
// key (a renewal) keeps the floor of the old one.
import { createHash } from 'node:crypto';
import type { CaEntry, CrlEntry, CrlFloor } from './snapshot.js';
import type { Problem, ProblemCode } from './scan.js';

type Report = (severity: Problem['severity'], code: ProblemCode, message: string, file?: string) => void;

export interface FloorResult {
  floors: ReadonlyMap<string, CrlFloor>;
  rolledBack: ReadonlySet<string>;
}

/** Updates the floors with `crls` and removes (in place) the CRLs of CAs that went back below theirs. */
export function applyCrlFloors(
  cas: CaEntry[],
  crls: CrlEntry[],
  previous: ReadonlyMap<string, CrlFloor> | undefined,
  now: Date,
  report: Report,
): FloorResult {
  const floors = new Map(previous ?? []);
  const rolledBack = new Set<string>();
  const keys = new Map(cas.map((ca) => [ca.fingerprint, floorKey(ca)]));
  for (const ca of cas) {
    const own = crls.filter(
      (c) => c.issuerFingerprint === ca.fingerprint && c.thisUpdate.getTime() <= now.getTime(),
    );
    if (own.length === 0) continue; // 'ca_without_crl' / 'crl_not_yet_valid' already refuse its clients
    const newest = newestOf(own);
    const key = keys.get(ca.fingerprint)!;
    const floor = floors.get(key);
    if (floor && isOlder(newest, floor)) {
      rolledBack.add(ca.fingerprint);
      report(
        'error',
        'crl_rollback',
        `CA "${ca.subject}" (${ca.file}): its newest CRL now is older (${describe(newest)}) than one already in force (${describe(floor)}); its clients are refused until a CRL at least as new is back in the directory`,
        ca.file,
      );
      continue;
    }
    floors.set(key, floor ? newestOf([floor, newest]) : newest);
  }
  const floorOf = new Map(cas.map((ca) => [ca.fingerprint, floors.get(keys.get(ca.fingerprint)!)]));
  for (let i = crls.length - 1; i >= 0; i--) {
    const c = crls[i];
    const floor = floorOf.get(c.issuerFingerprint);
    const superseded = floor !== undefined && c.thisUpdate.getTime() <= now.getTime() && isOlder(c, floor);
    if (rolledBack.has(c.issuerFingerprint) || superseded) crls.splice(i, 1);
  }
  return { floors, rolledBack };
}

/** The CA's canonical subject and public key: what stays the same when its certificate is re-issued. */
function floorKey(ca: CaEntry): string {
  const spki = ca.cert.publicKey.export({ type: 'spki', format: 'der' });
  return `${ca.canonicalSubject.toString('hex')}/${createHash('sha256').update(spki).digest('hex')}`;
}

function newestOf(list: CrlFloor[]): CrlFloor {
  const thisUpdate = new Date(Math.max(...list.map((c) => c.thisUpdate.getTime())));
  const numbers = list.map((c) => c.number).filter((n): n is bigint => n !== undefined);
  const number = numbers.length ? numbers.reduce((a, b) => (b > a ? b : a)) : undefined;
  return number === undefined ? { thisUpdate } : { thisUpdate, number };
}

function isOlder(candidate: CrlFloor, floor: CrlFloor): boolean {
  if (candidate.thisUpdate.getTime() < floor.thisUpdate.getTime()) return true;
  return floor.number !== undefined && candidate.number !== undefined && candidate.number < floor.number;
}

const describe = (f: CrlFloor): string =>
  `thisUpdate ${f.thisUpdate.toISOString()}${f.number !== undefined ? `, CRL Number ${f.number}` : ''}`;
