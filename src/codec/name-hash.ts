// OpenSSL's X509_NAME_hash (SHA-1 over the canonical name, OpenSSL >= 1.0.0) and X509_NAME_hash_old
// (MD5 over the original DER), as used to name files in a hash directory (`<hash>.N`, `<hash>.rN`).
// The canonical form (OpenSSL x509_name_canon): strings are converted to UTF-8, trimmed, whitespace runs collapsed to one space,
// ASCII lower-cased and re-tagged UTF8String; each RDN is re-sorted as a DER SET OF; the outer
// SEQUENCE header is dropped before hashing.
import { DerError } from '../errors/index.js';
import { createHash } from 'node:crypto';
import { readTlv, children, encodeTlv, TAG_SEQUENCE, TAG_SET, type Tlv } from './der.js';
import { splitPem } from './pem.js';

const UTF8 = 0x0c;
const PRINTABLE = 0x13;
const T61 = 0x14;
const IA5 = 0x16;
const VISIBLE = 0x1a;
const UNIVERSAL = 0x1c;
const BMP = 0x1e;
const CANON_TYPES = new Set([UTF8, PRINTABLE, T61, IA5, VISIBLE, UNIVERSAL, BMP]);

function isAsciiSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

function toUtf8(tag: number, raw: Uint8Array): Buffer {
  if (tag === UTF8) return Buffer.from(raw);
  if (tag === BMP || tag === UNIVERSAL) {
    const width = tag === BMP ? 2 : 4;
    if (raw.length % width !== 0) throw new DerError('name hash: malformed BMP/Universal string');
    let s = '';
    for (let i = 0; i < raw.length; i += width) {
      let cp = 0;
      for (let j = 0; j < width; j++) cp = cp * 256 + raw[i + j];
      s += String.fromCodePoint(cp);
    }
    return Buffer.from(s, 'utf8');
  }
  // Printable, T61, IA5, Visible: OpenSSL treats each byte as one code point (Latin-1)
  return Buffer.from(Buffer.from(raw).toString('latin1'), 'utf8');
}

/** OpenSSL's asn1_string_canon on already-UTF-8 bytes. */
function canonText(s: Buffer): Buffer {
  let a = 0;
  let b = s.length;
  while (a < b && isAsciiSpace(s[a])) a++;
  while (b > a && isAsciiSpace(s[b - 1])) b--;
  const out: number[] = [];
  for (let i = a; i < b;) {
    const c = s[i];
    if (c >= 0x80) {
      out.push(c);
      i++;
    } else if (isAsciiSpace(c)) {
      out.push(0x20);
      while (i < b && isAsciiSpace(s[i])) i++;
    } else {
      out.push(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
      i++;
    }
  }
  return Buffer.from(out);
}

function canonAtv(der: Uint8Array, atv: Tlv): Buffer {
  if (atv.tag !== TAG_SEQUENCE) throw new DerError('name hash: attribute is not a SEQUENCE');
  const [oid, value] = children(der, atv);
  if (!oid || !value || oid.tag !== 0x06) throw new DerError('name hash: malformed attribute');
  const oidBytes = der.subarray(oid.start, oid.end);
  let valueBytes: Buffer;
  if (CANON_TYPES.has(value.tag)) {
    const text = canonText(toUtf8(value.tag, der.subarray(value.contentStart, value.end)));
    valueBytes = encodeTlv(UTF8, text);
  } else {
    valueBytes = Buffer.from(der.subarray(value.start, value.end));
  }
  return encodeTlv(TAG_SEQUENCE, Buffer.concat([oidBytes, valueBytes]));
}

function derSetOrder(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The canonical encoding OpenSSL hashes and compares (`X509_NAME.canon_enc`). */
export function canonicalName(nameDer: Uint8Array): Buffer {
  const name = readTlv(nameDer, 0);
  if (name.tag !== TAG_SEQUENCE || name.end !== nameDer.length)
    throw new DerError('name hash: not a DER Name');
  const sets: Buffer[] = [];
  for (const rdn of children(nameDer, name)) {
    if (rdn.tag !== TAG_SET) throw new DerError('name hash: RDN is not a SET');
    const atvs = children(nameDer, rdn).map((atv) => canonAtv(nameDer, atv));
    atvs.sort(derSetOrder);
    sets.push(encodeTlv(TAG_SET, Buffer.concat(atvs)));
  }
  return Buffer.concat(sets);
}

function leHex(digest: Buffer): string {
  return digest.readUInt32LE(0).toString(16).padStart(8, '0');
}

/** `X509_NAME_hash` / `openssl x509 -subject_hash`: 8 lowercase hex digits. */
export function nameHash(nameDer: Uint8Array): string {
  return leHex(createHash('sha1').update(canonicalName(nameDer)).digest());
}

/** `X509_NAME_hash_old` / `-subject_hash_old`: MD5 over the original DER, header included. */
export function nameHashOld(nameDer: Uint8Array): string {
  const name = readTlv(nameDer, 0);
  if (name.tag !== TAG_SEQUENCE || name.end !== nameDer.length)
    throw new DerError('name hash: not a DER Name');
  return leHex(createHash('md5').update(nameDer).digest());
}

function derOf(input: Uint8Array | string, labels: string[], what: string): Buffer {
  if (typeof input !== 'string' && input.length > 0 && input[0] === TAG_SEQUENCE) return Buffer.from(input);
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const block = splitPem(text).find((b) => labels.includes(b.label));
  if (!block) throw new DerError(`no PEM ${what} block (expected ${labels.join(' or ')})`);
  return block.der;
}

/**
 * The Name at `index` among the fields of the TBS part of a signed structure, counting from after the
 * optional leading version field (present when the first field has `versionTag`).
 */
function tbsName(der: Uint8Array, versionTag: number, index: number, missing: string): Buffer {
  const outer = readTlv(der, 0);
  const [tbs] = children(der, outer);
  const fields = children(der, tbs);
  const i = fields[0]?.tag === versionTag ? 1 : 0;
  const name = fields[i + index];
  if (!name || name.tag !== TAG_SEQUENCE) throw new DerError(missing);
  return Buffer.from(der.subarray(name.start, name.end));
}

/** TBSCertificate: [0] version?, serial, signature, issuer, validity, subject. */
export function certificateSubjectDer(certDer: Uint8Array): Buffer {
  return tbsName(certDer, 0xa0, 4, 'certificate: no subject');
}

/** TBSCertList: version?, signature, issuer, thisUpdate, ... */
export function crlIssuerDer(crlDer: Uint8Array): Buffer {
  return tbsName(crlDer, 0x02, 1, 'CRL: no issuer');
}

/** `openssl x509 -subject_hash` of a certificate given as DER or PEM. */
export function certificateSubjectHash(certDerOrPem: Uint8Array | string): string {
  return nameHash(
    certificateSubjectDer(derOf(certDerOrPem, ['CERTIFICATE', 'TRUSTED CERTIFICATE'], 'certificate')),
  );
}

/** `openssl crl -hash` of a CRL given as DER or PEM. */
export function crlIssuerHash(crlDerOrPem: Uint8Array | string): string {
  return nameHash(crlIssuerDer(derOf(crlDerOrPem, ['X509 CRL'], 'CRL')));
}
