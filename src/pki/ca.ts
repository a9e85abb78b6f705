// A CA directory in the layout of the seed's openssl recipe (ca.conf, ca.key, ca.crt, index.txt,
// serial, crlnumber, certs/, crl/): creating one (`pki init`) and loading one for the other commands.
import { randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { splitPem, toPem } from '../codec/pem.js';
import { PkiError } from './errors.js';
import { DAY_MS } from './duration.js';
import {
  generatePrivateKey,
  loadPrivateKey,
  privateKeyPem,
  spkiDer,
  toSigningKey,
  type KeyKind,
  type SigningKey,
} from './keys.js';
import { x509 } from '../codec/index.js';

export interface CaPaths {
  dir: string;
  conf: string;
  key: string;
  cert: string;
  index: string;
  indexAttr: string;
  serial: string;
  crlnumber: string;
  certsDir: string;
  crlDir: string;
  crl: string;
}

export function caPaths(dir: string): CaPaths {
  const d = path.resolve(dir);
  return {
    dir: d,
    conf: path.join(d, 'ca.conf'),
    key: path.join(d, 'ca.key'),
    cert: path.join(d, 'ca.crt'),
    index: path.join(d, 'index.txt'),
    indexAttr: path.join(d, 'index.txt.attr'),
    serial: path.join(d, 'serial'),
    crlnumber: path.join(d, 'crlnumber'),
    certsDir: path.join(d, 'certs'),
    crlDir: path.join(d, 'crl'),
    crl: path.join(d, 'crl', 'ca.crl'),
  };
}

/** The seed's ca.conf, verbatim except for `dir`, so `openssl ca -config ca.conf` works on our CAs. */
export function caConf(dir: string): string {
  return `[ ca ]

default_ca      = CA_default

[ CA_default ]

dir             = ${dir}
certificate     = $dir/ca.crt
private_key     = $dir/ca.key
database        = $dir/index.txt
new_certs_dir   = $dir/certs
serial          = $dir/serial
crl_dir         = $dir/crl
crl             = $dir/crl/ca.crl
crlnumber       = $dir/crlnumber

x509_extensions = v3_ca
crl_extensions  = crl_ext

name_opt        = ca_default
cert_opt        = ca_default

default_days     = 365
default_crl_days = 30
default_md       = default
preserve         = no
policy           = policy_any

[ policy_any ]
countryName	           = optional
stateOrProvinceName    = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied
emailAddress           = optional

####################################################################

[ req ]
default_bits       = 2048
default_keyfile    = privkey.pem
distinguished_name = req_distinguished_name
attributes         = req_attributes
x509_extensions    = v3_ca

[ req_distinguished_name ]
countryName                    = Country Name (2 letter code)
countryName_default            = US
countryName_min                = 2
countryName_max                = 2
stateOrProvinceName            = State or Province Name (full name)
stateOrProvinceName_default    =
localityName                   = Locality Name (eg, city)
localityName+default           =
0.organizationName             = Organization Name (eg, company)
0.organizationName_default     =
organizationalUnitName         = Organizational Unit Name (eg, section)
organizationalUnitName_default =
commonName                     = Common Name (e.g. server FQDN or YOUR name)
commonName_max                 = 64
emailAddress                   = Email Address
emailAddress_max               = 64

[ req_attributes ]
challengePassword     = A challenge password
challengePassword_min = 4
challengePassword_max = 20
unstructuredName      = An optional company name

[ v3_req ]
basicConstraints = CA:FALSE
keyUsage = nonRepudiation, digitalSignature, keyEncipherment

[ v3_ca ]
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always,issuer
basicConstraints = critical,CA:true
keyUsage = critical, digitalSignature, cRLSign, keyCertSign

[ crl_ext ]
authorityKeyIdentifier=keyid:always
`;
}

/** A subject of one UTF8String CN, the encoding `openssl req -subj` uses by default. */
export function cnName(cn: string): x509.Name {
  if (cn.trim() === '') throw new PkiError('the common name must not be empty');
  return new x509.Name([{ '2.5.4.3': [{ utf8String: cn }] }]);
}

/** A random positive serial for self-signed CA certificates (openssl req -x509 does the same). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
}

export interface InitCaOptions {
  cn?: string;
  key?: KeyKind;
  days?: number;
  now?: Date;
}

async function isMissingOrEmptyDir(dir: string): Promise<'missing' | 'empty' | 'not-empty'> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new PkiError(`${dir} exists and is not a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  return (await readdir(dir)).length === 0 ? 'empty' : 'not-empty';
}

/**
 * Creates a CA in `dir` (which must not exist or be empty). Everything is written into a
 * temporary sibling directory first and renamed into place, so a failure leaves nothing behind.
 */
export async function initCa(
  dir: string,
  opts: InitCaOptions = {},
): Promise<{ certPath: string; keyPath: string }> {
  const p = caPaths(dir);
  const state = await isMissingOrEmptyDir(p.dir);
  if (state === 'not-empty') {
    const existing = await stat(p.cert).then(
      () => true,
      () => false,
    );
    throw new PkiError(
      existing
        ? `${p.dir} already holds a CA (ca.crt exists)`
        : `${p.dir} is not empty; pki init needs a new or empty directory`,
    );
  }
  const now = opts.now ?? new Date();
  const days = opts.days ?? 365;
  const key = await generatePrivateKey(opts.key ?? 'rsa');
  const signing = await toSigningKey(key);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: cnName(opts.cn ?? 'ca.example.com'),
    keys: { privateKey: signing.privateKey, publicKey: signing.publicKey },
    signingAlgorithm: signing.algorithm,
    serialNumber: randomSerial(),
    notBefore: now,
    notAfter: new Date(now.getTime() + days * DAY_MS),
    extensions: [
      await x509.SubjectKeyIdentifierExtension.create(signing.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(signing.publicKey),
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
    ],
  });

  await mkdir(path.dirname(p.dir), { recursive: true });
  const staging = await mkdtemp(path.join(path.dirname(p.dir), `.${path.basename(p.dir)}.init-`));
  try {
    const s = caPaths(staging);
    await mkdir(s.certsDir);
    await mkdir(s.crlDir);
    await writeFile(s.index, '');
    await writeFile(s.indexAttr, 'unique_subject = no\n');
    await writeFile(s.serial, '01\n');
    await writeFile(s.crlnumber, '1000\n');
    await writeFile(s.conf, caConf(p.dir));
    await writeFile(s.key, privateKeyPem(key), { mode: 0o600 });
    await writeFile(s.cert, toPem('CERTIFICATE', new Uint8Array(cert.rawData)));
    // rename(2) may replace an empty directory, so an existing empty target works too
    await rename(staging, p.dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return { certPath: p.cert, keyPath: p.key };
}

export interface LoadedCa {
  paths: CaPaths;
  cert: x509.X509Certificate;
  certPem: string;
  key: KeyObject;
  signing: SigningKey;
}

async function readRequired(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PkiError(code === 'ENOENT' ? `${what} ${file} is missing` : `cannot read ${file}: ${code}`);
  }
}

/** Opens an existing CA directory; checks that ca.key belongs to ca.crt before anything is signed. */
export async function loadCa(dir: string): Promise<LoadedCa> {
  const p = caPaths(dir);
  const st = await stat(p.dir).catch(() => undefined);
  if (!st)
    throw new PkiError(
      `CA directory ${p.dir} does not exist (create one with 'media-gateway pki init ${dir}')`,
    );
  if (!st.isDirectory()) throw new PkiError(`${p.dir} is not a directory`);
  const certText = await readRequired(p.cert, `${p.dir} is not a CA directory:`);
  const block = splitPem(certText).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new PkiError(`${p.cert}: no PEM CERTIFICATE block`);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(block.der));
  } catch (err) {
    throw new PkiError(`${p.cert}: not a readable certificate (${(err as Error).message})`);
  }
  const key = loadPrivateKey(await readRequired(p.key, 'CA key'), p.key);
  if (!spkiDer(key).equals(Buffer.from(cert.publicKey.rawData))) {
    throw new PkiError(`CA key ${p.key} does not match CA certificate ${p.cert}`);
  }
  for (const f of [p.index, p.serial]) await readRequired(f, `${p.dir} is not a CA directory:`);
  return {
    paths: p,
    cert,
    certPem: toPem('CERTIFICATE', block.der),
    key,
    signing: await toSigningKey(key, p.key),
  };
}
