// The CA commands in-process, checked against the real openssl CLI: layout and extensions,
// verification of what we issue, revocation seen by `openssl verify -crl_check_all`, and
// interoperability with a CA made and used by the seed's own openssl recipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile, copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { initCa } from '../../src/pki/ca.js';
import { issueCertificate } from '../../src/pki/issue.js';
import { listCertificates, revokeCertificate } from '../../src/pki/revoke.js';
import { generateCrl } from '../../src/pki/crl.js';
import { generatePrivateKey, privateKeyPem } from '../../src/pki/keys.js';
import { PkiError } from '../../src/pki/errors.js';
import { openssl, opensslOk, runSeedBlock } from './helpers.js';

const INDEX_LINE = /^V\t\d{12}Z\t\t[0-9A-F]+\tunknown\t\/CN=.+$/;

test('init creates the seed layout with the seed CA extensions, and openssl ca accepts ca.conf', async (t) => {
  const dir = path.join(await tempDir(t), 'ca');
  const r = await initCa(dir, { cn: 'Lab CA', key: 'ec', days: 10 });
  assert.equal(r.certPath, path.join(dir, 'ca.crt'));
  assert.deepEqual((await readdir(dir)).sort(), [
    'ca.conf',
    'ca.crt',
    'ca.key',
    'certs',
    'crl',
    'crlnumber',
    'index.txt',
    'index.txt.attr',
    'serial',
  ]);
  assert.equal(await readFile(path.join(dir, 'serial'), 'utf8'), '01\n');
  assert.equal(await readFile(path.join(dir, 'crlnumber'), 'utf8'), '1000\n');
  assert.match(await readFile(path.join(dir, 'ca.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  const text = await opensslOk(['x509', '-in', r.certPath, '-noout', '-text']);
  assert.match(text, /Subject: CN ?= ?Lab CA/);
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
  assert.match(text, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  assert.match(text, /Subject Key Identifier/);
  assert.match(text, /Authority Key Identifier/);
  assert.equal((await openssl(['verify', '-CAfile', r.certPath, r.certPath])).code, 0);
  // the ca.conf we write is the seed's and works with openssl ca as is
  const gen = await openssl(['ca', '-config', 'ca.conf', '-gencrl', '-out', 'crl/ossl.crl'], { cwd: dir });
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(await readFile(path.join(dir, 'crlnumber'), 'utf8'), '1001\n');
});

test('issued server and client certificates verify with openssl and carry the seed extensions', async (t) => {
  const dir = path.join(await tempDir(t), 'ca');
  const ca = await initCa(dir, { key: 'ec' });
  const srv = await issueCertificate(dir, 'server', 'srv', {
    cn: 'server.example.com',
    san: ['DNS:localhost,IP:127.0.0.1'],
    key: 'ec',
  });
  const cli = await issueCertificate(dir, 'client', 'cli', { key: 'rsa', days: 30 });
  assert.equal(srv.certPath, path.join(dir, 'certs', 'srv.crt'));
  assert.equal(srv.serial, '01');
  assert.equal(cli.serial, '02');
  for (const [c, purpose] of [
    [srv, 'sslserver'],
    [cli, 'sslclient'],
  ] as const) {
    const v = await openssl(['verify', '-CAfile', ca.certPath, '-purpose', purpose, c.certPath]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(await readFile(c.keyPath, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    // the key matches the certificate
    const certKey = await opensslOk(['x509', '-in', c.certPath, '-noout', '-pubkey']);
    assert.equal(await opensslOk(['pkey', '-in', c.keyPath, '-pubout']), certKey);
  }
  const s = await opensslOk(['x509', '-in', srv.certPath, '-noout', '-text']);
  assert.match(s, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(s, /Extended Key Usage: \s+TLS Web Server Authentication/);
  assert.match(s, /DNS:localhost, IP Address:127.0.0.1/);
  assert.match(s, /CA:FALSE/);
  assert.match(s, /Subject Key Identifier/);
  assert.match(s, /Authority Key Identifier/);
  const c = await opensslOk(['x509', '-in', cli.certPath, '-noout', '-text']);
  assert.match(c, /Key Usage: critical\s+Digital Signature, Non Repudiation, Key Encipherment/);
  assert.match(c, /TLS Web Client Authentication/);
  assert.match(c, /Subject: CN ?= ?cli/);
  assert.match(c, /Public-Key: \(2048 bit\)/);
  // openssl ca bookkeeping: index lines, next serial, copies in certs/<SERIAL>.pem
  const index = (await readFile(path.join(dir, 'index.txt'), 'utf8')).trimEnd().split('\n');
  assert.equal(index.length, 2);
  for (const line of index) assert.match(line, INDEX_LINE);
  assert.equal(await readFile(path.join(dir, 'serial'), 'utf8'), '03\n');
  assert.equal(
    await readFile(path.join(dir, 'certs', '01.pem'), 'utf8'),
    await readFile(srv.certPath, 'utf8'),
  );
  // a server without --san gets DNS:<cn>
  const plain = await issueCertificate(dir, 'server', 'plain', { cn: 'gw.example.com', key: 'ec' });
  assert.match(
    await opensslOk(['x509', '-in', plain.certPath, '-noout', '-ext', 'subjectAltName']),
    /DNS:gw.example.com/,
  );
  // --out
  const outDir = path.join(dir, '..', 'out');
  await mkdir(outDir);
  const o = await issueCertificate(dir, 'client', 'elsewhere', { out: outDir, key: 'ec' });
  assert.equal(o.certPath, path.join(outDir, 'elsewhere.crt'));
});

test('revoke + crl --publish: openssl verify -crl_check_all rejects the revoked certificate only', async (t) => {
  const tmp = await tempDir(t);
  const dir = path.join(tmp, 'ca');
  const store = path.join(tmp, 'store');
  await mkdir(store);
  const ca = await initCa(dir, { key: 'ec' });
  const good = await issueCertificate(dir, 'client', 'good', { key: 'ec' });
  const bad = await issueCertificate(dir, 'client', 'bad', { key: 'ec' });
  const first = await generateCrl(dir, { publishTo: store });
  assert.equal(first.crlNumber, '1000');
  assert.match(first.publishedPath!, /[0-9a-f]{8}\.r0$/);
  const hash = (await opensslOk(['x509', '-in', ca.certPath, '-noout', '-subject_hash'])).trim();
  assert.deepEqual((await readdir(store)).sort(), [`${hash}.0`, `${hash}.r0`]);
  for (const leaf of [good, bad]) {
    const v = await openssl(['verify', '-crl_check_all', '-CApath', store, leaf.certPath]);
    assert.equal(v.code, 0, v.stderr);
  }

  const rv = await revokeCertificate(dir, bad.certPath, 'keyCompromise');
  assert.deepEqual(rv, { serial: bad.serial, subject: '/CN=bad', reason: 'keyCompromise' });
  const second = await generateCrl(dir, { publishTo: store, days: 10 });
  assert.equal(second.crlNumber, '1001');
  assert.equal(second.publishedPath, path.join(store, `${hash}.r1`));
  const crlPem = await readFile(second.crlPath, 'utf8');
  assert.match(crlPem, /^-----BEGIN X509 CRL-----\n/);
  const crlText = await opensslOk(['crl', '-in', second.crlPath, '-noout', '-text']);
  assert.match(crlText, /CRL Number: \s+4097/);
  assert.match(crlText, /Authority Key Identifier/);
  assert.match(crlText, new RegExp(`Serial Number: ${bad.serial}[\\s\\S]*Key Compromise`));
  assert.equal(await readFile(path.join(dir, 'crlnumber'), 'utf8'), '1002\n');

  const revoked = await openssl(['verify', '-crl_check_all', '-CApath', store, bad.certPath]);
  assert.notEqual(revoked.code, 0);
  assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  assert.equal((await openssl(['verify', '-crl_check_all', '-CApath', store, good.certPath])).code, 0);

  const listed = await listCertificates(dir);
  assert.deepEqual(
    listed.map((l) => [l.serial, l.subject, l.status, l.reason]),
    [
      [good.serial, '/CN=good', 'valid', undefined],
      [bad.serial, '/CN=bad', 'revoked', 'keyCompromise'],
    ],
  );
});

test('a CA made by the seed recipe: our issue/revoke/crl/list and openssl ca work on it in any order', async (t) => {
  const tmp = await tempDir(t);
  await runSeedBlock('CA_DIR="$(pwd)/ca"', tmp); // creates ./ca exactly as the seed does
  const dir = path.join(tmp, 'ca');
  await runSeedBlock('certs/client.key', dir); // openssl ca issues client.example.com (serial 01)

  // ours next: serial 02, then openssl revokes our certificate and lists it in its CRL
  const ours = await issueCertificate(dir, 'client', 'ours', { key: 'ec' });
  assert.equal(ours.serial, '02');
  assert.equal((await openssl(['verify', '-CAfile', 'ca.crt', ours.certPath], { cwd: dir })).code, 0);
  const listed = await listCertificates(dir);
  assert.deepEqual(
    listed.map((l) => [l.serial, l.subject, l.status]),
    [
      ['01', '/CN=client.example.com', 'valid'],
      ['02', '/CN=ours', 'valid'],
    ],
  );
  await opensslOk(['ca', '-config', 'ca.conf', '-revoke', ours.certPath], { cwd: dir });

  // we revoke the openssl-issued one by serial; openssl's -gencrl lists both
  await revokeCertificate(dir, '01', 'superseded');
  await opensslOk(['ca', '-config', 'ca.conf', '-gencrl', '-out', 'crl/ossl.crl'], { cwd: dir });
  const osslCrl = await opensslOk(['crl', '-in', 'crl/ossl.crl', '-noout', '-text'], { cwd: dir });
  assert.match(osslCrl, /Serial Number: 01[\s\S]*Superseded/);
  assert.match(osslCrl, /Serial Number: 02/);
  assert.match(osslCrl, /CRL Number: \s+4096/);

  // our CRL continues the shared crlnumber and lists both too
  const ourCrl = await generateCrl(dir);
  assert.equal(ourCrl.crlNumber, '1001');
  assert.equal(ourCrl.revoked, 2);
  const store = path.join(tmp, 'store');
  await mkdir(store);
  await generateCrl(dir, { publishTo: store });
  for (const f of ['certs/client.crt', ours.certPath]) {
    const v = await openssl(['verify', '-crl_check_all', '-CApath', store, f], { cwd: dir });
    assert.match(v.stdout + v.stderr, /certificate revoked/);
  }
  // openssl issues again after our writes to index.txt and serial
  await runSeedBlock('certs/server.key', dir);
  assert.equal((await listCertificates(dir)).at(-1)?.serial, '03');
});

test('a CA made by us: openssl ca issues from it with the seed commands and we list/revoke that certificate', async (t) => {
  const tmp = await tempDir(t);
  const dir = path.join(tmp, 'ca');
  await initCa(dir, { key: 'ec' });
  await issueCertificate(dir, 'server', 'first', { key: 'ec' });
  await runSeedBlock('certs/client.key', dir);
  const listed = await listCertificates(dir);
  assert.deepEqual(
    listed.map((l) => [l.serial, l.subject]),
    [
      ['01', '/CN=first'],
      ['02', '/CN=client.example.com'],
    ],
  );
  await revokeCertificate(dir, path.join(dir, 'certs', 'client.crt'));
  const crl = await generateCrl(dir);
  const text = await opensslOk(['crl', '-in', crl.crlPath, '-noout', '-text']);
  assert.match(text, /Serial Number: 02/);
  // and openssl's own database check still reads our index
  const status = await openssl(['ca', '-config', 'ca.conf', '-status', '02'], { cwd: dir });
  assert.match(status.stdout + status.stderr, /02=Revoked/);
});

test('error paths: missing CA dir, mismatched CA key, unknown serial, overwrite without --force, re-init, double revoke', async (t) => {
  const tmp = await tempDir(t);
  const dir = path.join(tmp, 'ca');
  await initCa(dir, { key: 'ec' });
  const missing = path.join(tmp, 'nope');
  for (const op of [
    () => issueCertificate(missing, 'client', 'x'),
    () => revokeCertificate(missing, '01'),
    () => generateCrl(missing),
    () => listCertificates(missing),
  ]) {
    await assert.rejects(
      op,
      (e: Error) => e instanceof PkiError && /CA directory .*nope does not exist/.test(e.message),
    );
  }
  await assert.rejects(() => initCa(dir), /already holds a CA/);
  await assert.rejects(
    () => revokeCertificate(dir, 'AB'),
    /serial AB is not in .*index.txt \(unknown serial\)/,
  );
  await assert.rejects(() => revokeCertificate(dir, 'no-such.crt'), /no such certificate file/);
  await assert.rejects(() => revokeCertificate(dir, '01', 'becauseISaidSo'), /--reason/);

  const first = await issueCertificate(dir, 'client', 'c1', { key: 'ec' });
  const before = await readFile(first.certPath, 'utf8');
  await assert.rejects(
    () => issueCertificate(dir, 'client', 'c1', { key: 'ec' }),
    /c1.key already exists \(use --force/,
  );
  assert.equal(await readFile(first.certPath, 'utf8'), before);
  assert.equal(await readFile(path.join(dir, 'serial'), 'utf8'), '02\n', 'a refused issue spends no serial');
  const forced = await issueCertificate(dir, 'client', 'c1', { key: 'ec', force: true });
  assert.notEqual(await readFile(forced.certPath, 'utf8'), before);
  await assert.rejects(() => issueCertificate(dir, 'server', 'x', { san: ['IP:not-an-ip'] }), /--san/);

  await revokeCertificate(dir, '01');
  await assert.rejects(() => revokeCertificate(dir, '01'), /already revoked/);

  // a certificate from another CA cannot be revoked here
  const other = path.join(tmp, 'other');
  await initCa(other, { key: 'ec' });
  const foreign = await issueCertificate(other, 'client', 'f', { key: 'ec' });
  await assert.rejects(() => revokeCertificate(dir, foreign.certPath), /was not issued by the CA/);

  // CA key that does not belong to ca.crt: refused before anything is signed
  await writeFile(path.join(dir, 'ca.key'), privateKeyPem(await generatePrivateKey('ec')));
  const serialBefore = await readFile(path.join(dir, 'serial'), 'utf8');
  await assert.rejects(
    () => issueCertificate(dir, 'client', 'c2', { key: 'ec' }),
    /CA key .*ca.key does not match CA certificate/,
  );
  await assert.rejects(() => generateCrl(dir), /does not match/);
  assert.equal(await readFile(path.join(dir, 'serial'), 'utf8'), serialBefore);

  // init into a non-empty directory that is not a CA
  const junk = path.join(tmp, 'junk');
  await mkdir(junk);
  await copyFile(path.join(other, 'ca.conf'), path.join(junk, 'notes.txt'));
  await assert.rejects(() => initCa(junk), /is not empty/);
  assert.deepEqual(await readdir(junk), ['notes.txt']);
});

test('index.txt entries we write parse back in openssl format; unique_subject = yes is honoured', async (t) => {
  const dir = path.join(await tempDir(t), 'ca');
  await initCa(dir, { key: 'ec' });
  await writeFile(path.join(dir, 'index.txt.attr'), 'unique_subject = yes\n');
  await issueCertificate(dir, 'client', 'same', { key: 'ec' });
  await assert.rejects(
    () => issueCertificate(dir, 'client', 'same2', { cn: 'same', key: 'ec' }),
    /unique subjects/,
  );
  await revokeCertificate(dir, '01', 'superseded');
  await issueCertificate(dir, 'client', 'same2', { cn: 'same', key: 'ec' });
  const lines = (await readFile(path.join(dir, 'index.txt'), 'utf8')).trimEnd().split('\n');
  assert.match(lines[0], /^R\t\d{12}Z\t\d{12}Z,superseded\t01\tunknown\t\/CN=same$/);
  assert.match(lines[1], INDEX_LINE);
});
