// The JavaScript re-check of a client certificate chain against a trust snapshot. OpenSSL
// decides new handshakes; this runs where OpenSSL does not: connections already open when the trust
// store changes or a CRL expires, and resumed TLS sessions (which skip certificate verification).
// It is deliberately strict: every CA of the chain must be in the current snapshot (certificates the
// client sent are only used as the leaf), and with CRL checking every certificate, the root included,
// needs a valid CRL of its issuer, as OpenSSL's CRL_CHECK_ALL requires.
import { X509Certificate } from 'node:crypto';
import { x509, normalizeSerial } from '../codec/index.js';
import type { CaEntry, TrustSnapshot } from './snapshot.js';
import { crlStanding, crlsOf } from './crl-standing.js';

/** The `reason` label of media_gateway_tls_rejections_total and of the rejection log lines (docs/errors.md). */
export const REJECT_REASONS = [
  'revoked',
  'unknown_ca',
  'crl_missing',
  'crl_expired',
  'crl_not_yet_valid',
  'crl_rollback',
  'certificate_expired',
  'certificate_not_yet_valid',
  'wrong_purpose',
  'no_certificate',
  'bad_signature',
  'unspecified',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type VerifyResult = { ok: true } | { ok: false; reason: RejectReason; detail: string };

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const KEY_USAGE = '2.5.29.15';
const MAX_DEPTH = 10;

const fail = (reason: RejectReason, detail: string): VerifyResult => ({ ok: false, reason, detail });
const display = (c: X509Certificate): string => c.subject.replace(/\n/g, ', ');

function timeCheck(c: X509Certificate, now: number, what: string): VerifyResult | undefined {
  if (now < new Date(c.validFrom).getTime())
    return fail('certificate_not_yet_valid', `${what} "${display(c)}" is not valid before ${c.validFrom}`);
  if (now > new Date(c.validTo).getTime())
    return fail('certificate_expired', `${what} "${display(c)}" expired on ${c.validTo}`);
  return undefined;
}

/** OpenSSL's sslclient purpose for the leaf: EKU (if any) has clientAuth; KU (if any) can sign. */
function purposeCheck(leaf: X509Certificate, leafDer: Buffer): VerifyResult | undefined {
  const eku = leaf.keyUsage; // Node 20 returns the *extended* key usage OIDs here
  if (eku && eku.length > 0 && !eku.includes(CLIENT_AUTH))
    return fail(
      'wrong_purpose',
      `"${display(leaf)}" is not for client authentication (extended key usage ${eku.join(', ')})`,
    );
  const ku = new x509.X509Certificate(leafDer).getExtension<InstanceType<typeof x509.KeyUsagesExtension>>(
    KEY_USAGE,
  );
  if (ku) {
    const usages = new x509.KeyUsagesExtension(ku.rawData).usages;
    if (!(usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement)))
      return fail('wrong_purpose', `"${display(leaf)}" key usage does not allow digital signatures`);
  }
  return undefined;
}

/** The CA of the snapshot that issued `c` (name/key-id match and a verifying signature). */
function findIssuer(c: X509Certificate, snap: TrustSnapshot): { ca?: CaEntry; nameOnly: boolean } {
  let nameOnly = false;
  for (const ca of snap.cas) {
    if (!c.checkIssued(ca.cert)) continue;
    nameOnly = true;
    if (c.verify(ca.cert.publicKey)) return { ca, nameOnly };
  }
  return { nameOnly };
}

function crlCheck(
  c: X509Certificate,
  issuer: CaEntry,
  snap: TrustSnapshot,
  now: number,
): VerifyResult | undefined {
  if (snap.crlRolledBack?.has(issuer.fingerprint))
    return fail(
      'crl_rollback',
      `the newest CRL of "${issuer.subject}" is older than one already in force (src/trust/floors.ts)`,
    );
  const standing = crlStanding(crlsOf(snap, issuer), now);
  if (standing.state === 'missing') return fail('crl_missing', `no CRL of "${issuer.subject}" is available`);
  const serial = normalizeSerial(c.serialNumber);
  const revokedBy = standing.inForce.find((x) => x.revoked.has(serial));
  if (revokedBy) return fail('revoked', `"${display(c)}" (serial ${serial}) is revoked by ${revokedBy.file}`);
  const chosen = standing.inForce[0];
  if (standing.state === 'not_yet_valid')
    return fail(
      'crl_not_yet_valid',
      `the CRL of "${issuer.subject}" (${chosen.file}) is not valid before ${chosen.thisUpdate.toISOString()}`,
    );
  if (standing.state === 'expired')
    return fail(
      'crl_expired',
      `the CRL of "${issuer.subject}" (${chosen.file}) expired at ${chosen.nextUpdate?.toISOString()}`,
    );
  return undefined;
}

/**
 * Only the leaf is taken from the peer: every CA of the chain must come from the snapshot, so the
 * intermediates a client sends play no part (they cannot add trust).
 */
export function verifyPeerChain(
  leafDer: Buffer,
  snap: TrustSnapshot,
  opts: { crlEnabled: boolean; now?: Date },
): VerifyResult {
  if (!leafDer || leafDer.length === 0) return fail('no_certificate', 'the client sent no certificate');
  const now = (opts.now ?? new Date()).getTime();
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafDer);
  } catch (e) {
    return fail('unspecified', `the client certificate cannot be parsed: ${(e as Error).message}`);
  }
  if (opts.crlEnabled && (snap.cas.length === 0 || snap.crls.length === 0))
    return fail(
      snap.cas.length === 0 ? 'unknown_ca' : snap.crlRolledBack?.size ? 'crl_rollback' : 'crl_missing',
      'the trust store holds no usable CA/CRL set',
    );

  // build leaf → … → self-signed root from the snapshot only
  const chain: X509Certificate[] = [leaf];
  const issuers: CaEntry[] = [];
  for (let cur = leaf; ;) {
    const { ca, nameOnly } = findIssuer(cur, snap);
    if (!ca) {
      return nameOnly
        ? fail(
            'bad_signature',
            `the signature of "${display(cur)}" does not verify with its issuer in the trust store`,
          )
        : fail(
            'unknown_ca',
            `the issuer of "${display(cur)}" ("${cur.issuer.replace(/\n/g, ', ')}") is not in the trust store`,
          );
    }
    issuers.push(ca);
    if (ca.cert.checkIssued(ca.cert) && ca.cert.verify(ca.cert.publicKey)) break; // reached a self-signed root
    if (chain.length >= MAX_DEPTH) return fail('unknown_ca', 'the certificate chain is too long');
    chain.push(ca.cert);
    cur = ca.cert;
  }
  const root = issuers[issuers.length - 1];
  if (root.cert.raw.equals(leaf.raw))
    return fail('unknown_ca', 'a self-signed certificate is not a client certificate');

  // time validity of the leaf and every CA, then purpose
  const all = [...chain, root.cert];
  for (let i = 0; i < all.length; i++) {
    const bad = timeCheck(all[i], now, i === 0 ? 'certificate' : 'CA');
    if (bad) return bad;
  }
  const purpose = purposeCheck(leaf, leafDer);
  if (purpose) return purpose;

  if (opts.crlEnabled) {
    // chain[i] is issued by issuers[i]; the root is checked against a CRL it issued itself
    const checks: [X509Certificate, CaEntry][] = chain.map((c, i) => [c, issuers[i]]);
    checks.push([root.cert, root]);
    // report a revocation anywhere before a CRL availability problem (matches Node's reporting)
    const results = checks.map(([c, iss]) => crlCheck(c, iss, snap, now)).filter((r) => r !== undefined);
    const revoked = results.find((r) => !r.ok && r.reason === 'revoked');
    if (revoked) return revoked;
    if (results.length) return results[0];
  }
  return { ok: true };
}

const BY_CODE: Record<string, RejectReason> = {
  CERT_REVOKED: 'revoked',
  UNABLE_TO_GET_CRL: 'crl_missing',
  UNABLE_TO_GET_CRL_ISSUER: 'crl_missing',
  CRL_HAS_EXPIRED: 'crl_expired',
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: 'crl_expired',
  CRL_NOT_YET_VALID: 'crl_not_yet_valid',
  ERROR_IN_CRL_LAST_UPDATE_FIELD: 'crl_not_yet_valid',
  CERT_HAS_EXPIRED: 'certificate_expired',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'certificate_expired',
  CERT_NOT_YET_VALID: 'certificate_not_yet_valid',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'certificate_not_yet_valid',
  INVALID_PURPOSE: 'wrong_purpose',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown_ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown_ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown_ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown_ca',
  CERT_UNTRUSTED: 'unknown_ca',
  CERT_REJECTED: 'unknown_ca',
  INVALID_CA: 'unknown_ca',
  CERT_CHAIN_TOO_LONG: 'unknown_ca',
  PATH_LENGTH_EXCEEDED: 'unknown_ca',
  CERT_SIGNATURE_FAILURE: 'bad_signature',
  CRL_SIGNATURE_FAILURE: 'bad_signature',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'bad_signature',
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 'bad_signature',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'bad_signature',
};

/**
 * Node's `authorizationError` code → our reason, for logs and metrics only: Node reports just the
 * last OpenSSL error, so never base an access decision on it.
 */
export function reasonFromAuthorizationError(code: string): RejectReason {
  return BY_CODE[code] ?? 'unspecified';
}
