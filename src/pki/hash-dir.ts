// Writing into an OpenSSL hash directory (`store add`, `pki crl --publish`): CA certificates go
// to `<subject-hash>.N`, CRLs to `<issuer-hash>.rN`, each at the first free N (OpenSSL probes N
// upwards from 0 and only ever looks for higher CRL numbers than it has loaded), written to a
// temp file and hard-linked into place so readers never see a partial file and two writers never
// take the same name. Everything is validated before anything is written.
import { readFile, readdir, stat } from 'node:fs/promises';
import { readRegularFile } from '../util/index.js';
import path from 'node:path';
import {
  canonicalName,
  certificateSubjectDer,
  certificateSubjectHash,
  crlIssuerDer,
  crlIssuerHash,
} from '../codec/name-hash.js';
import { splitPem, toPem } from '../codec/pem.js';
import { PkiError } from './errors.js';
import { createFileExclusive } from './files.js';
import { x509 } from '../codec/index.js';

export type ObjectKind = 'certificate' | 'crl';

export const HASH_NAME = /^([0-9a-f]{8})\.(r?)(0|[1-9][0-9]*)$/;

export interface HashDirFile {
  file: string;
  hash: string;
  kind: ObjectKind;
  index: number;
  /** DER of every block of the right kind in the file (empty when unreadable) */
  ders: Buffer[];
}

/** The hash-named files of a directory and the objects in them; other files are ignored here. */
export async function readHashDirectory(dir: string): Promise<HashDirFile[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new PkiError(`hash directory ${dir} does not exist`);
  if (!st.isDirectory()) throw new PkiError(`${dir} is not a directory`);
  const out: HashDirFile[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const m = HASH_NAME.exec(name);
    if (!m) continue;
    const kind: ObjectKind = m[2] ? 'crl' : 'certificate';
    const labels = kind === 'crl' ? ['X509 CRL'] : ['CERTIFICATE', 'TRUSTED CERTIFICATE'];
    // never open a FIFO or device node as a file: it would block forever
    const read = await readRegularFile(path.join(dir, name)).catch(() => 'not-regular' as const);
    const text = read === 'not-regular' ? Buffer.alloc(0) : read;
    const ders = splitPem(text)
      .filter((b) => labels.includes(b.label))
      .map((b) => b.der);
    out.push({ file: path.join(dir, name), hash: m[1], kind, index: Number(m[3]), ders });
  }
  return out;
}

interface Candidate {
  source: string;
  kind: ObjectKind;
  der: Buffer;
  hash: string;
}

export interface StoreAddResult {
  installed: { source: string; kind: ObjectKind; path: string }[];
  skipped: { source: string; kind: ObjectKind; existing: string }[];
}

/** Certificates and CRLs of a file: PEM blocks, or one DER object. Keys are refused outright. */
async function readObjects(file: string, refusals: string[]): Promise<Omit<Candidate, 'hash'>[]> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    refusals.push(`${file}: cannot read (${(err as NodeJS.ErrnoException).code})`);
    return [];
  }
  const blocks = splitPem(data);
  if (blocks.length === 0 && data[0] === 0x30) {
    for (const [kind, Parser] of [
      ['certificate', x509.X509Certificate],
      ['crl', x509.X509Crl],
    ] as const) {
      try {
        new Parser(new Uint8Array(data));
        return [{ source: file, kind, der: data }];
      } catch {
        // not this kind
      }
    }
  }
  const out: Omit<Candidate, 'hash'>[] = [];
  for (const b of blocks) {
    if (b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE')
      out.push({ source: file, kind: 'certificate', der: b.der });
    else if (b.label === 'X509 CRL' || b.label === 'CRL') out.push({ source: file, kind: 'crl', der: b.der });
    else {
      refusals.push(
        `${file}: contains a ${b.label} block; only CA certificates and CRLs belong in a trust directory`,
      );
      return [];
    }
  }
  if (out.length === 0) refusals.push(`${file}: no certificate or CRL found`);
  return out;
}

function validateCertificate(c: Omit<Candidate, 'hash'>, refusals: string[]): Candidate | undefined {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(c.der));
  } catch (err) {
    refusals.push(`${c.source}: unreadable certificate (${(err as Error).message})`);
    return undefined;
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) {
    refusals.push(
      `${c.source}: ${cert.subject} is not a CA certificate (no basicConstraints CA:TRUE); only CAs belong in a trust directory`,
    );
    return undefined;
  }
  return { ...c, hash: certificateSubjectHash(c.der) };
}

/** The CA among `cas` that issued and signed the CRL, or a reason why there is none. */
async function findCrlIssuer(crlDer: Buffer, cas: Buffer[]): Promise<{ ca?: Buffer; problem?: string }> {
  const crl = new x509.X509Crl(new Uint8Array(crlDer));
  const issuer = canonicalName(crlIssuerDer(crlDer));
  const sameName = cas.filter((der) => canonicalName(certificateSubjectDer(der)).equals(issuer));
  if (sameName.length === 0)
    return { problem: `its issuer ${crl.issuer} is not a CA in the directory; add the CA certificate first` };
  for (const der of sameName) {
    if (await crl.verify({ publicKey: new x509.X509Certificate(new Uint8Array(der)) })) return { ca: der };
  }
  return { problem: `its signature does not verify with the key of ${crl.issuer} in the directory` };
}

async function validateCrl(
  c: Omit<Candidate, 'hash'>,
  cas: Buffer[],
  refusals: string[],
): Promise<Candidate | undefined> {
  try {
    new x509.X509Crl(new Uint8Array(c.der));
  } catch (err) {
    refusals.push(`${c.source}: unreadable CRL (${(err as Error).message})`);
    return undefined;
  }
  const { problem } = await findCrlIssuer(c.der, cas);
  if (problem) {
    refusals.push(`${c.source}: refusing the CRL: ${problem}`);
    return undefined;
  }
  return { ...c, hash: crlIssuerHash(c.der) };
}

/**
 * Installs CA certificates and CRLs from `files` into `hashDir`. Exact duplicates of objects
 * already present are skipped. If any file is refused (non-CA certificate, CRL without its CA in
 * the directory or the batch, bad signature, unreadable, private key), nothing is installed.
 */
export async function storeAdd(hashDir: string, files: string[]): Promise<StoreAddResult> {
  if (files.length === 0) throw new PkiError('no files given');
  const existing = await readHashDirectory(hashDir);
  const refusals: string[] = [];
  const objects = (await Promise.all(files.map((f) => readObjects(f, refusals)))).flat();
  const certs = objects
    .filter((o) => o.kind === 'certificate')
    .map((o) => validateCertificate(o, refusals))
    .filter((c): c is Candidate => c !== undefined);
  const knownCas = [
    ...existing.filter((e) => e.kind === 'certificate').flatMap((e) => e.ders),
    ...certs.map((c) => c.der),
  ];
  const crls: Candidate[] = [];
  for (const o of objects.filter((o) => o.kind === 'crl')) {
    const c = await validateCrl(o, knownCas, refusals);
    if (c) crls.push(c);
  }
  if (refusals.length > 0) throw new PkiError(`nothing was added to ${hashDir}:\n  ${refusals.join('\n  ')}`);

  const result: StoreAddResult = { installed: [], skipped: [] };
  const taken = new Set(existing.map((e) => path.basename(e.file)));
  const present = existing.map((e) => ({ ...e, ders: [...e.ders] }));
  for (const c of [...certs, ...crls]) {
    const dup = present.find(
      (e) => e.kind === c.kind && e.hash === c.hash && e.ders.some((d) => d.equals(c.der)),
    );
    if (dup) {
      result.skipped.push({ source: c.source, kind: c.kind, existing: dup.file });
      continue;
    }
    const pem = toPem(c.kind === 'crl' ? 'X509 CRL' : 'CERTIFICATE', c.der);
    for (let n = 0; ; n++) {
      const name = `${c.hash}.${c.kind === 'crl' ? 'r' : ''}${n}`;
      if (taken.has(name)) continue;
      taken.add(name);
      const target = path.join(hashDir, name);
      if (!(await createFileExclusive(target, pem))) continue;
      present.push({ file: target, hash: c.hash, kind: c.kind, index: n, ders: [c.der] });
      result.installed.push({ source: c.source, kind: c.kind, path: target });
      break;
    }
  }
  return result;
}

/** `openssl x509 -subject_hash` for a certificate, `openssl crl -hash` for a CRL (PEM or DER). */
export async function hashOfFile(file: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new PkiError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const block = splitPem(data).find((b) =>
    ['CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CRL', 'CRL'].includes(b.label),
  );
  if (block)
    return block.label.endsWith('CRL') ? crlIssuerHash(block.der) : certificateSubjectHash(block.der);
  try {
    new x509.X509Certificate(new Uint8Array(data));
    return certificateSubjectHash(data);
  } catch {
    try {
      new x509.X509Crl(new Uint8Array(data));
      return crlIssuerHash(data);
    } catch {
      throw new PkiError(`${file}: no certificate or CRL found (PEM or DER)`);
    }
  }
}
