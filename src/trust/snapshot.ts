// The immutable result of scanning a hash directory: what the TLS context is built from and what
// the JS re-check (verify.ts) runs against. A new snapshot replaces the old one as a whole.
import type { X509Certificate } from 'node:crypto';

export interface CaEntry {
  /** file name inside the trust directory, e.g. `8ef9a55b.0` */
  file: string;
  pem: string;
  der: Buffer;
  cert: X509Certificate;
  /** SHA-256 of the DER, lowercase hex: the identity CRLs refer to */
  fingerprint: string;
  subjectHash: string;
  /** canonical subject (name-hash.ts canonicalName), for issuer matching */
  canonicalSubject: Buffer;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CrlEntry {
  file: string;
  /** one PEM block labelled `X509 CRL` */
  pem: string;
  der: Buffer;
  /** fingerprint of the CA whose key verified this CRL's signature */
  issuerFingerprint: string;
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** normalised serials (see normalizeSerial) of revoked certificates; removeFromCRL entries left out */
  revoked: Set<string>;
  /** the CRL Number extension, when present */
  number?: bigint;
}

/** The newest CRL a CA has had in force while this process runs (src/trust/floors.ts). */
export interface CrlFloor {
  thisUpdate: Date;
  number?: bigint;
}

export interface TrustSnapshot {
  cas: CaEntry[];
  crls: CrlEntry[];
  caPems: string[];
  /** one PEM block per element, label X509 CRL (Node reads only the first block of each element) */
  crlPems: string[];
  /** SHA-256 over the sorted (file name, DER) pairs of everything accepted */
  digest: string;
  earliestNextUpdate?: Date;
  loadedAt: Date;
  /** per CA subject and key (src/trust/floors.ts): the newest CRL in force so far; carried between snapshots */
  crlFloors?: ReadonlyMap<string, CrlFloor>;
  /** CA fingerprints whose newest CRL is older than their floor: their clients are refused */
  crlRolledBack?: ReadonlySet<string>;
}

/**
 * What the TLS context trusts for a snapshot. Fails closed: no CA, or CRL checking on and no CRL at
 * all (Node would then silently skip revocation checks), gives an empty store that rejects everyone.
 */
export function contextTrust(snap: TrustSnapshot, crlEnabled: boolean): { ca: string[]; crl?: string[] } {
  if (snap.caPems.length === 0) return { ca: [] };
  if (!crlEnabled) return { ca: snap.caPems };
  if (snap.crlPems.length === 0) return { ca: [] };
  return { ca: snap.caPems, crl: snap.crlPems };
}
