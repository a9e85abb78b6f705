// `store doctor`: everything wrong with a hash directory, as found by the trust scanner the
// gateway itself uses (src/trust/scan.ts), so the doctor and the server never disagree.
import { scanHashDirectory, type Problem } from '../trust/index.js';
import { DAY_MS } from './duration.js';
import { PkiError } from './errors.js';

export interface DoctorReport {
  dir: string;
  problems: Problem[];
  cas: number;
  crls: number;
  /** 0 clean, 1 warnings only, 2 errors */
  exitCode: 0 | 1 | 2;
}

export async function doctor(
  hashDir: string,
  opts: { warnWithinMs?: number; now?: Date } = {},
): Promise<DoctorReport> {
  let result;
  try {
    result = await scanHashDirectory(hashDir, {
      crlEnabled: true,
      now: opts.now,
      crlExpiryWarningMs: opts.warnWithinMs ?? 7 * DAY_MS,
    });
  } catch (err) {
    throw new PkiError((err as Error).message, 2);
  }
  const { snapshot, problems } = result;
  const exitCode = problems.some((p) => p.severity === 'error') ? 2 : problems.length > 0 ? 1 : 0;
  return { dir: hashDir, problems, cas: snapshot.cas.length, crls: snapshot.crls.length, exitCode };
}

export function formatDoctorReport(r: DoctorReport): string {
  const lines = r.problems.map(
    (p) => `${p.severity.toUpperCase().padEnd(7)} ${p.code.padEnd(18)} ${p.message}`,
  );
  const errors = r.problems.filter((p) => p.severity === 'error').length;
  const summary =
    r.exitCode === 0
      ? `${r.dir}: OK (${r.cas} CA certificate(s), ${r.crls} CRL(s) in force)`
      : `${r.dir}: ${errors} error(s), ${r.problems.length - errors} warning(s) (${r.cas} CA certificate(s), ${r.crls} usable CRL(s))`;
  return [...lines, summary].join('\n');
}
