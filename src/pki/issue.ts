// `pki issue server|client`: a key pair and a certificate signed by the CA, with the seed's
// extensions, recorded in index.txt/serial exactly as `openssl ca` would (including the copy
// in certs/<SERIAL>.pem), so openssl can later revoke what we issued.
import { isIP } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { toPem } from '../codec/pem.js';
import { cnName, loadCa } from './ca.js';
import { DAY_MS } from './duration.js';
import { PkiError } from './errors.js';
import { createFileExclusive, writeFileAtomic } from './files.js';
import { generatePrivateKey, privateKeyPem, toSigningKey, type KeyKind } from './keys.js';
import {
  formatIndex,
  incrementHex,
  onelineName,
  parseIndex,
  readHexCounter,
  readUniqueSubject,
  writeHexCounter,
} from './openssl-db.js';
import { x509 } from '../codec/index.js';

export type CertKind = 'server' | 'client';

export interface IssueOptions {
  /** subject CN; default: the name */
  cn?: string;
  /** `DNS:host`, `IP:1.2.3.4`, `email:a@b`, `URI:...`; servers default to `DNS:<cn>` */
  san?: string[];
  days?: number;
  key?: KeyKind;
  /** directory for <name>.key/<name>.crt; default <ca>/certs */
  out?: string;
  force?: boolean;
  now?: Date;
}

export interface IssueResult {
  certPath: string;
  keyPath: string;
  serial: string;
  subject: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseSan(entries: string[]): x509.JsonGeneralNames {
  return entries
    .flatMap((e) => e.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const i = s.indexOf(':');
      const type = i > 0 ? s.slice(0, i).toUpperCase() : '';
      const value = s.slice(i + 1);
      if (type === 'DNS' && value) return { type: 'dns' as const, value };
      if (type === 'IP' && isIP(value)) return { type: 'ip' as const, value };
      if (type === 'EMAIL' && value.includes('@')) return { type: 'email' as const, value };
      if (type === 'URI' && value) return { type: 'url' as const, value };
      throw new PkiError(`--san: cannot understand '${s}' (use DNS:name, IP:address, email:addr or URI:uri)`);
    });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function issueCertificate(
  caDir: string,
  kind: CertKind,
  name: string,
  opts: IssueOptions = {},
): Promise<IssueResult> {
  if (kind !== 'server' && kind !== 'client')
    throw new PkiError(`unknown certificate kind '${kind}' (server or client)`);
  if (!NAME_RE.test(name))
    throw new PkiError(`'${name}' is not a usable file name (letters, digits, '.', '_', '-')`);
  const ca = await loadCa(caDir);
  const outDir = path.resolve(opts.out ?? ca.paths.certsDir);
  const keyPath = path.join(outDir, `${name}.key`);
  const certPath = path.join(outDir, `${name}.crt`);
  if (!(await stat(outDir).catch(() => undefined))?.isDirectory())
    throw new PkiError(`output directory ${outDir} does not exist`);
  if (!opts.force) {
    for (const f of [keyPath, certPath]) {
      if (await exists(f)) throw new PkiError(`${f} already exists (use --force to overwrite)`);
    }
  }

  const cn = opts.cn ?? name;
  const subject = cnName(cn);
  const onelineSubject = onelineName(new Uint8Array(subject.toArrayBuffer()));
  const index = parseIndex(await readFile(ca.paths.index, 'utf8'), ca.paths.index);
  const now = opts.now ?? new Date();
  if (await readUniqueSubject(ca.paths.indexAttr)) {
    const clash = index.find((e) => e.status === 'V' && e.subject === onelineSubject && e.expires > now);
    if (clash) {
      throw new PkiError(
        `the CA requires unique subjects (index.txt.attr) and serial ${clash.serial} already has ${onelineSubject}; revoke it first`,
      );
    }
  }
  const serial = await readHexCounter(ca.paths.serial);
  if (index.some((e) => e.serial === serial)) {
    throw new PkiError(
      `serial ${serial} from ${ca.paths.serial} is already in ${ca.paths.index}; fix the serial file`,
    );
  }

  const sanEntries = opts.san && opts.san.length > 0 ? opts.san : kind === 'server' ? [`DNS:${cn}`] : [];
  const san = parseSan(sanEntries);
  const key = await generatePrivateKey(opts.key ?? 'rsa');
  const leaf = await toSigningKey(key);
  const K = x509.KeyUsageFlags;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false),
    await x509.SubjectKeyIdentifierExtension.create(leaf.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.signing.publicKey),
    kind === 'server'
      ? new x509.KeyUsagesExtension(K.digitalSignature | K.keyEncipherment, true)
      : new x509.KeyUsagesExtension(K.nonRepudiation | K.digitalSignature | K.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([
      kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (san.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(san));
  const days = opts.days ?? 365;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: ca.cert.subjectName,
    notBefore: now,
    notAfter: new Date(now.getTime() + days * DAY_MS),
    publicKey: leaf.publicKey,
    signingKey: ca.signing.privateKey,
    signingAlgorithm: ca.signing.algorithm,
    extensions,
  });
  const certPem = toPem('CERTIFICATE', new Uint8Array(cert.rawData));

  // Serial first: a burnt serial number is harmless, a reused one is not.
  await writeHexCounter(ca.paths.serial, incrementHex(serial));
  const copy = path.join(ca.paths.certsDir, `${serial}.pem`);
  if (!(await createFileExclusive(copy, certPem)))
    throw new PkiError(`${copy} already exists; refusing to reuse serial ${serial}`);
  await writeFileAtomic(keyPath, privateKeyPem(key), { mode: 0o600 });
  await writeFileAtomic(certPath, certPem);
  index.push({
    status: 'V',
    expires: cert.notAfter,
    serial,
    file: 'unknown',
    subject: onelineSubject,
    revocationField: '',
  });
  await writeFileAtomic(ca.paths.index, formatIndex(index));
  return { certPath, keyPath, serial, subject: onelineSubject };
}
