// Start-up check of the client-certificate trust directory, with the scanner the server itself uses
// (src/trust/scan.ts): a directory in which no client could ever be accepted is an error, not a warning
// found later in `store doctor`.
import type { ClientAuthConfig } from '../config/index.js';
import type { ProblemCode } from '../trust/index.js';
import type { Finding } from './finding.js';

/** Problems that refuse every client of a CA (or every client at all): the server would start useless. */
const REFUSES_CLIENTS: ReadonlySet<ProblemCode> = new Set([
  'no_ca',
  'ca_without_crl',
  'crl_expired',
  'crl_not_yet_valid',
  'crl_rollback',
]);

export async function trustFindings(cfg: ClientAuthConfig, where: string, now: Date): Promise<Finding[]> {
  let problems;
  try {
    // loaded here, not at the top: the client's start-up runs this module's neighbours too, and the trust
    // scanner brings @peculiar/x509 (~200 modules, ~3.5 MB of heap the client would carry for its life)
    const { scanHashDirectory } = await import('../trust/index.js');
    ({ problems } = await scanHashDirectory(cfg.directory, {
      crlEnabled: cfg.crlEnabled,
      crlExpiryWarningMs: cfg.crlExpiryWarningMs,
      now,
    }));
  } catch (e) {
    return [{ severity: 'error', path: where, message: (e as Error).message }];
  }
  return problems.map((p) => ({
    severity: REFUSES_CLIENTS.has(p.code) ? 'error' : 'warning',
    path: where,
    message: `trust directory ${cfg.directory}: ${p.code}: ${p.message}`,
  }));
}
