// Name-hash vectors (certificates made by the real openssl CLI) plus a differential
// test against `openssl x509 -subject_hash[_old]` and `openssl crl -hash[_old]`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import {
  nameHash,
  nameHashOld,
  certificateSubjectHash,
  certificateSubjectDer,
  crlIssuerHash,
  crlIssuerDer,
} from '../../src/codec/name-hash.js';
import { splitPem, toPem } from '../../src/codec/pem.js';

const ossl = (args: string[], cwd: string): string =>
  execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function configs(dir: string): void {
  const cnf = (mask: string) =>
    `[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = ${mask}\n[dn]\nCN = unused\n`;
  writeFileSync(path.join(dir, 'printable.cnf'), cnf('default'));
  writeFileSync(path.join(dir, 'utf8only.cnf'), cnf('utf8only'));
  writeFileSync(path.join(dir, 'm_bmp.cnf'), cnf('MASK:0x800'));
  writeFileSync(path.join(dir, 'm_t61.cnf'), cnf('MASK:0x4'));
}

/** A self-signed certificate with the given subject; returns its PEM. */
function mk(dir: string, name: string, subject: string, extra: string[] = []): string {
  const out = path.join(dir, `${name}.pem`);
  ossl(['req', '-new', '-x509', '-key', 'k.pem', '-days', '1', '-subj', subject, '-out', out, ...extra], dir);
  return readFileSync(out, 'utf8');
}

const VECTORS: [string, string, string[], string, string][] = [
  ['t1a', '/C=US/O=Example Org/CN=Hello World', [], '3d78e7a5', '59e8e863'],
  ['t1b', '/C=us/O=EXAMPLE ORG/CN=hello world', [], '3d78e7a5', 'de37456c'],
  ['t2', '/C=US/O=  Example    Org /CN=   Hello     World   ', [], '3d78e7a5', '32a5f5c3'],
  ['t2tab', '/C=US/O=Example\tOrg/CN=Hello\t\tWorld', [], '3d78e7a5', '22c6bea4'],
  ['t3a', '/O=Example Org/CN=Alice+UID=alice', ['-multivalue-rdn'], 'bd1a4c93', '57e4caef'],
  ['t3b', '/O=Example Org/UID=ALICE+CN=alice', ['-multivalue-rdn'], 'bd1a4c93', '40eafa67'],
  ['t3c', '/O=Example Org/CN=Alice/UID=alice', [], 'cc056dd0', '44032edf'],
  ['t4a', '/CN=Hello World/O=Example Org/C=US', [], '7faca988', '9f09d32c'],
  ['t5a', '/CN=Ünïcödé Tést', ['-utf8'], 'c68339e5', '2be5a10f'],
  ['t5b', '/CN=üNïcödé tést', ['-utf8'], '3198a227', '26720748'],
  ['t5c', '/CN=ÜNÏCÖDÉ TÉST', ['-utf8'], '9362badb', 'e647f15d'],
  ['t5d', '/CN=ÜNïCöDé TéST', ['-utf8'], 'c68339e5', 'c2b39cba'],
  ['t6a', '/CN=mail user/emailAddress=Alice@Example.COM', [], 'e89b8fe8', '4a34782a'],
  ['t6b', '/CN=Mail User/emailAddress=alice@example.com', [], 'e89b8fe8', '4aecd696'],
  ['t7p', '/C=US/CN=Hello World', ['-config', 'printable.cnf'], 'fa918f8f', '4d8708d6'],
  ['t7u', '/C=US/CN=Hello World', ['-config', 'utf8only.cnf'], 'fa918f8f', '540272d3'],
  ['t8a', '/CN=Hello\u00a0World', ['-utf8'], 'e62b3dcb', '5304f022'],
  ['t8b', '/CN=hello world', [], '72c73c2b', '5d6e59b6'],
  ['t9', '/CN=Hello World', ['-config', 'utf8only.cnf'], '72c73c2b', '230ec380'],
  ['t10_bmp', '/CN=Hello World', ['-config', 'm_bmp.cnf'], '72c73c2b', '68ff2172'],
  ['t10_t61', '/CN=Hello World', ['-config', 'm_t61.cnf'], '72c73c2b', 'c6b2761f'],
];

test('every name-hash vector (new and old hash)', async (t) => {
  const dir = await tempDir(t);
  configs(dir);
  ossl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem'], dir);
  for (const [name, subject, extra, want, wantOld] of VECTORS) {
    const pem = mk(dir, name, subject, extra);
    const der = certificateSubjectDer(splitPem(pem)[0].der);
    assert.equal(nameHash(der), want, `${name} new hash`);
    assert.equal(nameHashOld(der), wantOld, `${name} old hash`);
    assert.equal(certificateSubjectHash(pem), want, `${name} from PEM`);
    assert.equal(certificateSubjectHash(splitPem(pem)[0].der), want, `${name} from DER`);
  }
});

test('empty name and a worked example', () => {
  assert.equal(nameHash(Buffer.from([0x30, 0x00])), 'eea339da');
  assert.equal(nameHashOld(Buffer.from([0x30, 0x00])), '543b6ca4');
  // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "Hello World" } } }
  const cn = Buffer.from('Hello World');
  const atv = Buffer.concat([
    Buffer.from([0x30, 5 + 2 + cn.length, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, cn.length]),
    cn,
  ]);
  const name = Buffer.concat([Buffer.from([0x30, atv.length + 2, 0x31, atv.length]), atv]);
  assert.equal(nameHash(name), '72c73c2b');
});

test('malformed input gets a clear error', () => {
  assert.throws(() => nameHash(Buffer.from([0x31, 0x00])), /not a DER Name/);
  assert.throws(() => nameHash(Buffer.from([0x30, 0x05, 0x31])), /DER/);
  assert.throws(() => certificateSubjectHash('not a pem'), /no PEM certificate block/);
  assert.throws(
    () => crlIssuerHash('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    /no PEM CRL/,
  );
});

test('pem: split several blocks, skip garbage, round-trip', () => {
  const a = toPem('CERTIFICATE', Buffer.from('first'));
  const b = toPem('X509 CRL', Buffer.alloc(100, 7));
  const blocks = splitPem(
    `junk\n${a}\nmore junk\n${b}-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n`,
  );
  assert.deepEqual(
    blocks.map((x) => x.label),
    ['CERTIFICATE', 'X509 CRL'],
  );
  assert.equal(blocks[0].der.toString(), 'first');
  assert.deepEqual(blocks[1].der, Buffer.alloc(100, 7));
  assert.ok(b.split('\n').every((l) => l.length <= 64));
  // a half-written file (no END line) yields nothing
  assert.deepEqual(splitPem(b.slice(0, 60)), []);
});

// Differential: names chosen to hit each canonicalisation rule, hashed by openssl and by us.
const DIFF_SUBJECTS: [string, string[]][] = [
  ['/CN=MiXeD CaSe/O=ACME', []],
  ['/CN=\t lead and trail \t/OU=a  \t b', []],
  ['/CN=a\nb', []],
  ['/DC=com/DC=Example/CN=Multi+OU=Valued+O=RDN', ['-multivalue-rdn']],
  ['/CN=Ελληνικά ΚΕΦΑΛΑΙΑ/O=日本語', ['-utf8']],
  ['/CN=Ümlaut/O=Café', ['-utf8', '-config', 'm_bmp.cnf']],
  ['/CN=T61 Value/O=Some  Org', ['-config', 'm_t61.cnf']],
  ['/CN=x/emailAddress=Some.Body@EXAMPLE.org', []],
  ['/C=DE/ST=Berlin/L=Berlin/O=Org/OU=Unit/CN=Full Name/serialNumber=12345', ['-config', 'printable.cnf']],
  ['/CN=', []],
];

test('differential against openssl x509 -subject_hash and openssl crl -hash', async (t) => {
  const dir = await tempDir(t);
  configs(dir);
  ossl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem'], dir);
  mkdirSync(path.join(dir, 'db'));
  writeFileSync(path.join(dir, 'db', 'index.txt'), '');
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/db/index.txt\ndefault_md = sha256\ndefault_crl_days = 1\n`,
  );
  DIFF_SUBJECTS.forEach(([subject, extra], i) => {
    const name = `d${i}`;
    const pem = mk(dir, name, subject, extra);
    const [h, hOld] = ossl(
      ['x509', '-in', `${name}.pem`, '-noout', '-subject_hash', '-subject_hash_old'],
      dir,
    )
      .trim()
      .split('\n');
    const der = certificateSubjectDer(splitPem(pem)[0].der);
    assert.equal(nameHash(der), h, `subject_hash of ${JSON.stringify(subject)}`);
    assert.equal(nameHashOld(der), hOld, `subject_hash_old of ${JSON.stringify(subject)}`);
    ossl(
      [
        'ca',
        '-gencrl',
        '-config',
        'ca.cnf',
        '-keyfile',
        'k.pem',
        '-cert',
        `${name}.pem`,
        '-out',
        `${name}.crl`,
      ],
      dir,
    );
    const crl = readFileSync(path.join(dir, `${name}.crl`), 'utf8');
    const [c, cOld] = ossl(['crl', '-in', `${name}.crl`, '-noout', '-hash', '-hash_old'], dir)
      .trim()
      .split('\n')
      .map((l) => l.replace(/^.*=/, '')); // openssl labels the values when several are asked for
    assert.equal(crlIssuerHash(crl), c, `crl -hash of ${JSON.stringify(subject)}`);
    assert.equal(
      nameHashOld(crlIssuerDer(splitPem(crl)[0].der)),
      cOld,
      `crl -hash_old of ${JSON.stringify(subject)}`,
    );
  });
});
