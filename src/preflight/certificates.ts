// Start-up checks of the PEM files a configuration names: a certificate file holds certificates (not a key),
// a key file holds a key that matches its certificate, and every certificate is valid now. The loaders are the
// ones the TLS listener and client use (src/tls/identity-files.ts), so a file that passes here loads there.
import { X509Certificate } from 'node:crypto';
import { loadIdentityFiles, readCertificates } from '../tls/identity-files.js';
import { splitPem } from '../codec/pem.js';
import { readRegularFile } from '../util/index.js';
import type { Finding } from './finding.js';

/** A certificate that expires within this window is a warning: renew it before it refuses every peer. */
export const EXPIRY_WARNING_MS = 14 * 24 * 60 * 60 * 1000;

export interface IdentityPaths {
  certificate: string;
  key: string;
}

/** Certificate + key pair: types, match, validity. `what` is e.g. "server certificate". */
export async function identityFindings(
  files: IdentityPaths,
  paths: IdentityPaths,
  what: string,
  now: Date,
): Promise<Finding[]> {
  const swapped = await swappedFindings(files, paths);
  if (swapped.length > 0) return swapped;
  let chain: string;
  try {
    chain = (await loadIdentityFiles(files.certificate, files.key)).cert;
  } catch (e) {
    const message = (e as Error).message;
    // loadIdentityFiles names the file at fault: a key problem (or a mismatch) is the key's field
    const path = /^key file|^the key in/.test(message) ? paths.key : paths.certificate;
    return [{ severity: 'error', path, message }];
  }
  const leaf = new X509Certificate(splitPem(chain)[0].der);
  return validityFindings([leaf], paths.certificate, what, now);
}

/** A root certificate / CA bundle file: parsable certificates, each valid now. */
export async function rootFindings(file: string, path: string, what: string, now: Date): Promise<Finding[]> {
  let pem: string;
  try {
    pem = await readCertificates(file, what);
  } catch (e) {
    return [{ severity: 'error', path, message: await describeWrongContent(file, 'certificate', e) }];
  }
  return validityFindings(
    splitPem(pem).map((b) => new X509Certificate(b.der)),
    path,
    what,
    now,
  );
}

/** Expired or not yet valid: error; expiring within EXPIRY_WARNING_MS: warning. */
export function validityFindings(certs: X509Certificate[], path: string, what: string, now: Date): Finding[] {
  const out: Finding[] = [];
  for (const cert of certs) {
    const subject = cert.subject.replace(/\n/g, ', ');
    const notBefore = new Date(cert.validFrom);
    const notAfter = new Date(cert.validTo);
    if (notAfter.getTime() <= now.getTime())
      out.push({
        severity: 'error',
        path,
        message: `${what} "${subject}" expired on ${notAfter.toISOString()}: every TLS peer will refuse it`,
      });
    else if (notBefore.getTime() > now.getTime())
      out.push({
        severity: 'error',
        path,
        message: `${what} "${subject}" is not valid before ${notBefore.toISOString()} (check the clock)`,
      });
    else if (notAfter.getTime() - now.getTime() < EXPIRY_WARNING_MS)
      out.push({
        severity: 'warning',
        path,
        message: `${what} "${subject}" expires on ${notAfter.toISOString()}: renew it`,
      });
  }
  return out;
}

/** A key given as the certificate (or the reverse) is named as such rather than as "no certificate". */
async function swappedFindings(files: IdentityPaths, paths: IdentityPaths): Promise<Finding[]> {
  const certLabels = await labels(files.certificate);
  const keyLabels = await labels(files.key);
  const out: Finding[] = [];
  if (certLabels && !certLabels.some(isCertificate) && certLabels.some(isKey))
    out.push({
      severity: 'error',
      path: paths.certificate,
      message: `${files.certificate} holds a private key, not a certificate (are certificate and key swapped?)`,
    });
  if (keyLabels && !keyLabels.some(isKey) && keyLabels.some(isCertificate))
    out.push({
      severity: 'error',
      path: paths.key,
      message: `${files.key} holds a certificate, not a private key (are certificate and key swapped?)`,
    });
  return out;
}

async function describeWrongContent(file: string, wanted: string, err: unknown): Promise<string> {
  const found = await labels(file);
  if (found && !found.some(isCertificate) && found.some(isKey))
    return `${file} holds a private key, not a ${wanted}`;
  return (err as Error).message;
}

async function labels(file: string): Promise<string[] | undefined> {
  try {
    const data = await readRegularFile(file, 1024 * 1024);
    return typeof data === 'string' ? undefined : splitPem(data).map((b) => b.label);
  } catch {
    return undefined; // unreadable: the loaders report it with their own message
  }
}

const isCertificate = (label: string) => label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE';
const isKey = (label: string) => label.endsWith('PRIVATE KEY');
