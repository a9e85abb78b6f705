// The files `openssl ca` keeps in a CA directory, read and written in openssl's own formats so
// that our commands and the seed's openssl commands can be used on the same CA in any order:
//   index.txt       one line per issued certificate, 6 tab-separated fields:
//                   status (V|R|E), expiry, revocation[,reason], serial hex, file name, subject
//   index.txt.attr  `unique_subject = yes|no`
//   serial          the NEXT certificate serial, hex (uppercase, even length)
//   crlnumber       the NEXT CRL number, same format
import { readFile } from 'node:fs/promises';
import { PkiError } from './errors.js';
import { writeFileAtomic } from './files.js';
import { x509 } from '../codec/index.js';

export type IndexStatus = 'V' | 'R' | 'E';

export interface IndexEntry {
  status: IndexStatus;
  expires: Date;
  revoked?: Date;
  /** openssl reason name (`keyCompromise`, ...) when the revocation recorded one */
  reason?: string;
  /** uppercase hex, even length, as openssl writes it */
  serial: string;
  file: string;
  /** openssl's one-line form, `/CN=client.example.com` */
  subject: string;
  /** the raw revocation field, kept so extra data openssl wrote (hold instruction, key time) survives */
  revocationField: string;
}

/** openssl's reason names (apps/ca.c `crl_reasons`), in CRL reason-code order. */
export const REVOCATION_REASONS: Record<string, number> = {
  unspecified: 0,
  keyCompromise: 1,
  CACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
};

/** Uppercase, even-length hex without leading zero bytes: the form openssl prints serials in. */
export function normalizeSerial(hex: string): string {
  let h = hex.trim().replace(/^0x/i, '').replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(h)) throw new PkiError(`'${hex}' is not a hexadecimal serial number`);
  h = h.replace(/^0+/, '');
  if (h.length === 0) h = '0';
  return h.length % 2 ? '0' + h : h;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** ASN.1 time as openssl stores it: UTCTime `YYMMDDHHMMSSZ` before 2050, GeneralizedTime after. */
export function formatAsn1Time(d: Date): string {
  const y = d.getUTCFullYear();
  const rest = `${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  return y >= 1950 && y < 2050 ? `${pad2(y % 100)}${rest}` : `${String(y).padStart(4, '0')}${rest}`;
}

export function parseAsn1Time(s: string): Date {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new PkiError(`bad time '${s}'`);
  let year = Number(m[1]);
  if (m[1].length === 2) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export function parseIndex(text: string, file = 'index.txt'): IndexEntry[] {
  const out: IndexEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const f = line.split('\t');
    if (f.length < 6 || !['V', 'R', 'E'].includes(f[0])) {
      throw new PkiError(`${file}:${i + 1}: not an openssl index line: ${JSON.stringify(line)}`);
    }
    try {
      const [revDate, reason] = f[2].split(',');
      out.push({
        status: f[0] as IndexStatus,
        expires: parseAsn1Time(f[1]),
        revoked: revDate ? parseAsn1Time(revDate) : undefined,
        reason: reason || undefined,
        serial: normalizeSerial(f[3]),
        file: f[4],
        subject: f.slice(5).join('\t'),
        revocationField: f[2],
      });
    } catch (err) {
      throw new PkiError(`${file}:${i + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}

export function formatIndex(entries: IndexEntry[]): string {
  return entries
    .map(
      (e) =>
        [e.status, formatAsn1Time(e.expires), e.revocationField, e.serial, e.file, e.subject].join('\t') +
        '\n',
    )
    .join('');
}

/** A hex counter file (`serial`, `crlnumber`). */
export async function readHexCounter(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PkiError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const first = text.split('\n')[0].trim();
  if (!/^[0-9A-Fa-f]+$/.test(first))
    throw new PkiError(`${file}: expected a hexadecimal number, found '${first}'`);
  return normalizeSerial(first);
}

export function incrementHex(hex: string): string {
  return normalizeSerial((BigInt('0x' + hex) + 1n).toString(16));
}

export async function writeHexCounter(file: string, hex: string): Promise<void> {
  await writeFileAtomic(file, normalizeSerial(hex) + '\n');
}

/** `unique_subject` from index.txt.attr; openssl's default when the file is absent is yes. */
export async function readUniqueSubject(attrFile: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(attrFile, 'utf8');
  } catch {
    return true;
  }
  const m = /^\s*unique_subject\s*=\s*(\S+)/m.exec(text);
  return m ? !/^(no|n|false|0)$/i.test(m[1]) : true;
}

const SHORT_NAMES: Record<string, string> = { E: 'emailAddress' };

/** openssl's `X509_NAME_oneline` form (`/C=US/O=Org/CN=name`), non-printable bytes as `\xHH`. */
export function onelineName(nameDer: Uint8Array): string {
  const name = new x509.Name(nameDer);
  let out = '';
  for (const rdn of name.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      for (const v of values) {
        const escaped = [...Buffer.from(v, 'utf8')]
          .map((b) =>
            b < 0x20 || b > 0x7e
              ? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`
              : String.fromCharCode(b),
          )
          .join('');
        out += `/${SHORT_NAMES[type] ?? type}=${escaped}`;
      }
    }
  }
  return out;
}
