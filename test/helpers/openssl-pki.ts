// A lab PKI built with the real openssl CLI the way the seed does it (`openssl ca` with an
// index.txt database): root → intermediate → clients, a second CA, a never-trusted rogue CA, a
// self-signed server certificate, and CRLs with any revocation list and validity window.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

export interface CaHandle {
  name: string;
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  /** `openssl x509 -subject_hash` */
  hash: string;
}

export interface Leaf {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  serial: string;
  /** leaf + issuing intermediate (what a client usually sends) */
  chainPem: string;
}

export type ClientName =
  'good' | 'revoked' | 'expired' | 'wrongEku' | 'wrongKu' | 'rootIssued' | 'ca2' | 'rogue';

export interface LabPki {
  dir: string;
  root: CaHandle;
  inter: CaHandle;
  ca2: CaHandle;
  rogue: CaHandle;
  /** a self-signed CA with the intermediate's subject and another key */
  lookAlike: CaHandle;
  clients: Record<ClientName, Leaf>;
  server: Leaf;
  /** a CRL of `ca` revoking the named leaves (keyCompromise), via `openssl ca -gencrl` */
  crl(ca: CaHandle, opts?: { revoke?: ClientName[]; lastUpdate?: Date; nextUpdate?: Date }): string;
  /** the same CRL with one byte of its signature flipped */
  badSignature(crlPem: string): string;
  openssl(args: string[], cwd?: string): string;
}

const ts = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z'); // YYYYMMDDHHMMSSZ

const CA_EXT = `basicConstraints = critical,CA:true
keyUsage = critical, digitalSignature, cRLSign, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always,issuer
`;
const clientExt = (eku = 'clientAuth', ku = 'critical,nonRepudiation,digitalSignature,keyEncipherment') =>
  `basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
keyUsage = ${ku}
extendedKeyUsage = ${eku}
`;

export function buildLabPki(dir: string): LabPki {
  const openssl = (args: string[], cwd = dir): string =>
    execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (f: string, s: string) => writeFileSync(f, s);
  const genkey = (file: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  const serialOf = (certFile: string) =>
    openssl(['x509', '-in', certFile, '-noout', '-serial'])
      .trim()
      .replace(/^serial=/, '')
      .toLowerCase()
      .replace(/^0+(?=.)/, '');

  const makeCa = (name: string, subject: string, issuer?: CaHandle): CaHandle => {
    const d = path.join(dir, name);
    mkdirSync(path.join(d, 'certs'), { recursive: true });
    write(path.join(d, 'index.txt'), '');
    write(path.join(d, 'index.txt.attr'), 'unique_subject = no\n');
    write(path.join(d, 'serial'), `${(name.length * 4096 + 1).toString(16).padStart(4, '0')}\n`);
    write(path.join(d, 'crlnumber'), '1000\n');
    write(
      path.join(d, 'ca.cnf'),
      `[ca]\ndefault_ca = CA_default\n[CA_default]\ndir = ${d}\ncertificate = $dir/ca.crt\nprivate_key = $dir/ca.key\n` +
        `database = $dir/index.txt\nnew_certs_dir = $dir/certs\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\n` +
        `crl_extensions = crl_ext\ndefault_days = 365\ndefault_crl_days = 30\ndefault_md = sha256\npreserve = no\n` +
        `policy = policy_any\nunique_subject = no\n[policy_any]\ncountryName = optional\norganizationName = optional\n` +
        `commonName = supplied\n[req]\ndistinguished_name = dn\n[dn]\n[v3_ca]\n${CA_EXT}[crl_ext]\nauthorityKeyIdentifier=keyid:always\n`,
    );
    write(path.join(d, 'ca.ext'), CA_EXT);
    const keyFile = path.join(d, 'ca.key');
    const certFile = path.join(d, 'ca.crt');
    genkey(keyFile);
    if (!issuer) {
      openssl([
        'req',
        '-new',
        '-x509',
        '-days',
        '3650',
        '-config',
        path.join(d, 'ca.cnf'),
        '-extensions',
        'v3_ca',
        '-key',
        keyFile,
        '-subj',
        subject,
        '-out',
        certFile,
      ]);
    } else {
      const csr = path.join(d, 'ca.csr');
      openssl([
        'req',
        '-new',
        '-config',
        path.join(d, 'ca.cnf'),
        '-key',
        keyFile,
        '-subj',
        subject,
        '-out',
        csr,
      ]);
      openssl([
        'ca',
        '-batch',
        '-notext',
        '-config',
        path.join(issuer.dir, 'ca.cnf'),
        '-days',
        '3000',
        '-extfile',
        path.join(d, 'ca.ext'),
        '-in',
        csr,
        '-out',
        certFile,
      ]);
    }
    const hash = openssl(['x509', '-in', certFile, '-noout', '-subject_hash']).trim();
    return { name, dir: d, certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), hash };
  };

  const issue = (
    ca: CaHandle,
    name: string,
    subject: string,
    ext: string,
    dates?: [Date, Date],
    chain?: CaHandle,
  ): Leaf => {
    const keyFile = path.join(dir, `${name}.key`);
    const certFile = path.join(dir, `${name}.crt`);
    const extFile = path.join(dir, `${name}.ext`);
    genkey(keyFile);
    write(extFile, ext);
    openssl([
      'req',
      '-new',
      '-config',
      path.join(ca.dir, 'ca.cnf'),
      '-key',
      keyFile,
      '-subj',
      subject,
      '-out',
      `${name}.csr`,
    ]);
    const when = dates ? ['-startdate', ts(dates[0]), '-enddate', ts(dates[1])] : ['-days', '30'];
    openssl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      path.join(ca.dir, 'ca.cnf'),
      ...when,
      '-extfile',
      extFile,
      '-in',
      `${name}.csr`,
      '-out',
      certFile,
    ]);
    const certPem = readFileSync(certFile, 'utf8');
    return {
      certFile,
      keyFile,
      certPem,
      keyPem: readFileSync(keyFile, 'utf8'),
      serial: serialOf(certFile),
      chainPem: certPem + (chain ? chain.certPem : ''),
    };
  };

  const root = makeCa('root', '/C=US/O=Test Org/CN=Test Root CA');
  const inter = makeCa('inter', '/C=US/O=Test Org/CN=Test Intermediate CA', root);
  const ca2 = makeCa('ca2', '/O=Other Org/CN=Second CA');
  const rogue = makeCa('rogue', '/O=Rogue/CN=Rogue CA');
  // same subject as the intermediate, another key: its CRLs hash to the intermediate's .rN names
  const lookAlike = makeCa('lookalike', '/C=US/O=Test Org/CN=Test Intermediate CA');
  const clients: Record<ClientName, Leaf> = {
    good: issue(inter, 'client-good', '/O=Test Org/CN=client-good', clientExt(), undefined, inter),
    revoked: issue(inter, 'client-revoked', '/O=Test Org/CN=client-revoked', clientExt(), undefined, inter),
    expired: issue(
      inter,
      'client-expired',
      '/O=Test Org/CN=client-expired',
      clientExt(),
      [new Date('2020-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z')],
      inter,
    ),
    wrongEku: issue(
      inter,
      'client-wrong-eku',
      '/O=Test Org/CN=client-wrong-eku',
      clientExt('serverAuth'),
      undefined,
      inter,
    ),
    wrongKu: issue(
      inter,
      'client-wrong-ku',
      '/O=Test Org/CN=client-wrong-ku',
      clientExt('clientAuth', 'critical,keyEncipherment'),
      undefined,
      inter,
    ),
    rootIssued: issue(root, 'client-root', '/O=Test Org/CN=client-root', clientExt()),
    ca2: issue(ca2, 'client-ca2', '/O=Other Org/CN=client-ca2', clientExt()),
    rogue: issue(rogue, 'client-rogue', '/O=Rogue/CN=client-rogue', clientExt()),
  };

  const serverKey = path.join(dir, 'server.key');
  const serverCert = path.join(dir, 'server.crt');
  genkey(serverKey);
  openssl([
    'req',
    '-new',
    '-x509',
    '-days',
    '30',
    '-key',
    serverKey,
    '-subj',
    '/CN=localhost',
    '-out',
    serverCert,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  const serverPem = readFileSync(serverCert, 'utf8');
  const server: Leaf = {
    certFile: serverCert,
    keyFile: serverKey,
    certPem: serverPem,
    keyPem: readFileSync(serverKey, 'utf8'),
    serial: serialOf(serverCert),
    chainPem: serverPem,
  };

  const leafCa = (n: ClientName): CaHandle =>
    n === 'rootIssued' ? root : n === 'ca2' ? ca2 : n === 'rogue' ? rogue : inter;
  let crlSeq = 0;
  let lastDefault = 0;
  const crl: LabPki['crl'] = (ca, opts = {}) => {
    // a private copy of the database with exactly the requested revocations
    const db = readFileSync(path.join(ca.dir, 'index.txt'), 'utf8');
    const revokedSerials = new Set(
      (opts.revoke ?? []).filter((n) => leafCa(n) === ca).map((n) => clients[n].serial),
    );
    const when = ts(new Date(Date.now() - 3_600_000)).slice(2);
    const lines = db
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const f = l.split('\t');
        const serial = f[3].toLowerCase().replace(/^0+(?=.)/, '');
        if (revokedSerials.has(serial))
          return ['R', f[1], `${when},keyCompromise`, f[3], f[4], f[5]].join('\t');
        return l;
      });
    const n = ++crlSeq;
    const cnf = path.join(ca.dir, `gen-${n}.cnf`);
    const idx = path.join(ca.dir, `index-${n}.txt`);
    write(idx, lines.length ? lines.join('\n') + '\n' : '');
    copyFileSync(path.join(ca.dir, 'index.txt.attr'), `${idx}.attr`);
    write(
      cnf,
      readFileSync(path.join(ca.dir, 'ca.cnf'), 'utf8').replace(/^database = .*$/m, `database = ${idx}`),
    );
    const out = path.join(ca.dir, `crl-${n}.pem`);
    // CRLs made one after another must have increasing thisUpdate (second resolution), as in real life; they
    // start 10 minutes back so that a few hundred CRLs per test file never reach into the future
    const last = opts.lastUpdate ?? new Date(Math.max(Date.now() - 600_000, lastDefault + 1000));
    if (!opts.lastUpdate) lastDefault = last.getTime();
    const next = opts.nextUpdate ?? new Date(Date.now() + 30 * 86_400_000);
    openssl([
      'ca',
      '-gencrl',
      '-config',
      cnf,
      '-crl_lastupdate',
      ts(last),
      '-crl_nextupdate',
      ts(next),
      '-out',
      out,
    ]);
    return readFileSync(out, 'utf8');
  };

  const badSignature = (crlPem: string): string => {
    const body = crlPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const der = Buffer.from(body, 'base64');
    der[der.length - 3] ^= 0x01; // inside the signature BIT STRING, which is last
    const b64 = der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n');
    return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
  };

  return { dir, root, inter, ca2, rogue, lookAlike, clients, server, crl, badSignature, openssl };
}
