// `pki revoke` and `pki list`: revocation and status live in index.txt, as with `openssl ca -revoke`.
import { readFile, stat } from 'node:fs/promises';
import { splitPem } from '../codec/pem.js';
import { loadCa, type LoadedCa } from './ca.js';
import { PkiError } from './errors.js';
import { writeFileAtomic } from './files.js';
import {
  formatAsn1Time,
  formatIndex,
  normalizeSerial,
  onelineName,
  parseIndex,
  REVOCATION_REASONS,
  type IndexEntry,
} from './openssl-db.js';
import { x509 } from '../codec/index.js';

export interface RevokeResult {
  serial: string;
  subject: string;
  reason?: string;
}

/** Accepts openssl's spelling and a case-insensitive match of it (`keycompromise`, `caCompromise`). */
export function parseReason(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const name = Object.keys(REVOCATION_REASONS).find((r) => r.toLowerCase() === text.toLowerCase());
  if (!name || name === 'removeFromCRL' || name === 'certificateHold') {
    const allowed = Object.keys(REVOCATION_REASONS).filter(
      (r) => r !== 'removeFromCRL' && r !== 'certificateHold',
    );
    throw new PkiError(`--reason: '${text}' is not one of ${allowed.join(', ')}`);
  }
  return name;
}

async function certificateFromFile(file: string): Promise<x509.X509Certificate> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    throw new PkiError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const block = splitPem(text).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new PkiError(`${file}: no PEM CERTIFICATE block`);
  return new x509.X509Certificate(new Uint8Array(block.der));
}

async function readIndex(ca: LoadedCa): Promise<IndexEntry[]> {
  return parseIndex(await readFile(ca.paths.index, 'utf8'), ca.paths.index);
}

/**
 * Marks a certificate revoked in index.txt. `certPathOrSerial` is a certificate file or a hex
 * serial. Like openssl, a certificate file signed by this CA but missing from the index is added
 * as revoked; a serial must be in the index.
 */
export async function revokeCertificate(
  caDir: string,
  certPathOrSerial: string,
  reason?: string,
  opts: { now?: Date } = {},
): Promise<RevokeResult> {
  const ca = await loadCa(caDir);
  const reasonName = parseReason(reason);
  const index = await readIndex(ca);
  // an existing file wins over a hex-looking name
  const isFile = await stat(certPathOrSerial).then(
    (st) => st.isFile(),
    () => false,
  );
  const isSerial = !isFile && /^(0x)?[0-9A-Fa-f:]+$/.test(certPathOrSerial);
  if (!isFile && !isSerial)
    throw new PkiError(`${certPathOrSerial}: no such certificate file, and not a hex serial number`);
  let serial: string;
  let cert: x509.X509Certificate | undefined;
  if (isSerial) {
    serial = normalizeSerial(certPathOrSerial);
  } else {
    cert = await certificateFromFile(certPathOrSerial);
    if (!(await cert.verify({ publicKey: ca.cert, signatureOnly: true }))) {
      throw new PkiError(`${certPathOrSerial} was not issued by the CA in ${ca.paths.dir}`);
    }
    serial = normalizeSerial(cert.serialNumber);
  }
  let entry = index.find((e) => e.serial === serial);
  if (!entry) {
    if (!cert) throw new PkiError(`serial ${serial} is not in ${ca.paths.index} (unknown serial)`);
    entry = {
      status: 'V',
      expires: cert.notAfter,
      serial,
      file: 'unknown',
      subject: onelineName(new Uint8Array(cert.subjectName.toArrayBuffer())),
      revocationField: '',
    };
    index.push(entry);
  }
  if (entry.status === 'R') throw new PkiError(`serial ${serial} (${entry.subject}) is already revoked`);
  const when = opts.now ?? new Date();
  entry.status = 'R';
  entry.revoked = when;
  entry.reason = reasonName;
  entry.revocationField = formatAsn1Time(when) + (reasonName ? `,${reasonName}` : '');
  await writeFileAtomic(ca.paths.index, formatIndex(index));
  return { serial, subject: entry.subject, reason: reasonName };
}

export type CertStatus = 'valid' | 'revoked' | 'expired';

export interface ListedCertificate {
  serial: string;
  subject: string;
  status: CertStatus;
  expires: Date;
  revoked?: Date;
  reason?: string;
}

/** Every certificate in index.txt with its status at `now` (revoked wins over expired). */
export async function listCertificates(
  caDir: string,
  opts: { now?: Date } = {},
): Promise<ListedCertificate[]> {
  const ca = await loadCa(caDir);
  const now = opts.now ?? new Date();
  return (await readIndex(ca)).map((e) => ({
    serial: e.serial,
    subject: e.subject,
    status: e.status === 'R' ? 'revoked' : e.status === 'E' || e.expires <= now ? 'expired' : 'valid',
    expires: e.expires,
    revoked: e.revoked,
    reason: e.reason,
  }));
}
