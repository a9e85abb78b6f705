// `store renew-crls`: reissue and publish a CA's CRL when the copy in a hash directory is about to
// expire (or missing, expired, not yet valid). Idempotent, so it can run from cron or a systemd timer.
import { createHash } from 'node:crypto';
import { crlStanding, crlsOf, scanHashDirectory } from '../trust/index.js';
import { loadCa } from './ca.js';
import { generateCrl, type GenerateCrlResult } from './crl.js';
import { PkiError } from './errors.js';

const NEEDS_NEW_CRL = new Set(['ca_without_crl', 'crl_expired', 'crl_expiring', 'crl_not_yet_valid']);

export interface RenewResult {
  renewed: boolean;
  /** why a new CRL was (or was not) needed */
  reason: string;
  crl?: GenerateCrlResult;
}

export async function renewCrls(
  caDir: string,
  hashDir: string,
  opts: { ifExpiringWithinMs: number; days?: number; now?: Date },
): Promise<RenewResult> {
  const ca = await loadCa(caDir);
  const fingerprint = createHash('sha256').update(Buffer.from(ca.cert.rawData)).digest('hex');
  let scan;
  try {
    scan = await scanHashDirectory(hashDir, {
      crlEnabled: true,
      now: opts.now,
      crlExpiryWarningMs: opts.ifExpiringWithinMs,
    });
  } catch (err) {
    throw new PkiError((err as Error).message);
  }
  const entry = scan.snapshot.cas.find((c) => c.fingerprint === fingerprint);
  let reason: string | undefined;
  if (!entry) reason = `the CA is not in ${hashDir} yet`;
  else reason = scan.problems.find((p) => p.file === entry.file && NEEDS_NEW_CRL.has(p.code))?.message;
  if (!reason) {
    // the same judgement of the CA's CRLs as the scan, the health check and every connection make
    const standing = crlStanding(crlsOf(scan.snapshot, entry!), opts.now ?? new Date());
    if (standing.state === 'valid') {
      const until = standing.until ? `until ${standing.until.toISOString()}` : 'indefinitely';
      return { renewed: false, reason: `the published CRL is valid ${until}` };
    }
    reason = `the published CRL is ${standing.state}`;
  }
  const crl = await generateCrl(caDir, { days: opts.days, publishTo: hashDir, now: opts.now });
  return { renewed: true, reason, crl };
}
