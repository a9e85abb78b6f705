// The trust-directory commands in-process: `store hash` against openssl, `store add` naming,
// duplicates and refusals, `store doctor` on a directory made to have each problem, renew-crls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { initCa } from '../../src/pki/ca.js';
import { issueCertificate } from '../../src/pki/issue.js';
import { generateCrl } from '../../src/pki/crl.js';
import { hashOfFile, storeAdd } from '../../src/pki/hash-dir.js';
import { doctor } from '../../src/pki/doctor.js';
import { renewCrls } from '../../src/pki/renew.js';
import { DAY_MS } from '../../src/pki/duration.js';
import { opensslOk } from './helpers.js';

test('store hash equals openssl for certificates and CRLs with awkward names', async (t) => {
  const dir = await tempDir(t);
  const key = path.join(dir, 'k.pem');
  await opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  const subjects: [string, string[]][] = [
    ['/C=US/O=Example Org/CN=Hello World', []],
    ['/C=us/O=EXAMPLE ORG/CN=hello world', []],
    ['/C=US/O=  Example    Org /CN=   Hello     World   ', []],
    ['/O=Example Org/CN=Alice+UID=alice', ['-multivalue-rdn']],
    ['/O=Example Org/UID=ALICE+CN=alice', ['-multivalue-rdn']],
    ['/CN=Ünïcödé Tést', ['-utf8']],
    ['/CN=ÜNÏCÖDÉ TÉST', ['-utf8']],
    ['/CN=mail user/emailAddress=Alice@Example.COM', []],
    ['/CN=Hello\tWorld/OU=Mixed CASE unit', []],
  ];
  for (const [i, [subj, extra]] of subjects.entries()) {
    const cert = path.join(dir, `c${i}.pem`);
    await opensslOk([
      'req',
      '-new',
      '-x509',
      '-key',
      key,
      '-days',
      '1',
      '-subj',
      subj,
      '-out',
      cert,
      ...extra,
    ]);
    const expected = (await opensslOk(['x509', '-in', cert, '-noout', '-subject_hash'])).trim();
    assert.equal(await hashOfFile(cert), expected, subj);
    // DER input gives the same answer
    const der = path.join(dir, `c${i}.der`);
    await opensslOk(['x509', '-in', cert, '-outform', 'DER', '-out', der]);
    assert.equal(await hashOfFile(der), expected);
  }
  const ca = path.join(dir, 'ca');
  await initCa(ca, { cn: 'Mixed Case  CA', key: 'ec' });
  const crl = await generateCrl(ca);
  assert.equal(
    await hashOfFile(crl.crlPath),
    (await opensslOk(['crl', '-in', crl.crlPath, '-noout', '-hash'])).trim(),
  );
  await assert.rejects(() => hashOfFile(key), /no certificate or CRL/);
  await assert.rejects(() => hashOfFile(path.join(dir, 'missing')), /cannot read/);
});

async function labCa(root: string, name: string, cn = `${name} CA`) {
  const dir = path.join(root, name);
  const r = await initCa(dir, { cn, key: 'ec' });
  const hash = (await opensslOk(['x509', '-in', r.certPath, '-noout', '-subject_hash'])).trim();
  return { dir, cert: r.certPath, hash };
}

test('store add: right names, next free sequence number, duplicates skipped, refusals install nothing', async (t) => {
  const tmp = await tempDir(t);
  const store = path.join(tmp, 'store');
  await mkdir(store);
  const ca = await labCa(tmp, 'a');
  const crl1 = await generateCrl(ca.dir);
  await copyFile(crl1.crlPath, path.join(tmp, 'crl1.pem'));

  // CA and its CRL in one call; the CRL's CA comes from the same batch
  let r = await storeAdd(store, [path.join(tmp, 'crl1.pem'), ca.cert]);
  assert.deepEqual(
    r.installed.map((i) => [i.kind, path.basename(i.path)]),
    [
      ['certificate', `${ca.hash}.0`],
      ['crl', `${ca.hash}.r0`],
    ],
  );
  assert.match(await readFile(path.join(store, `${ca.hash}.r0`), 'utf8'), /^-----BEGIN X509 CRL-----/);

  // exact duplicates are skipped, a new CRL goes to .r1
  const crl2 = await generateCrl(ca.dir);
  r = await storeAdd(store, [ca.cert, crl2.crlPath, path.join(tmp, 'crl1.pem')]);
  assert.deepEqual(
    r.installed.map((i) => path.basename(i.path)),
    [`${ca.hash}.r1`],
  );
  assert.equal(r.skipped.length, 2);

  // a leaf, a CRL of a CA that is not in the directory, and a private key: all refused, nothing installed
  const leaf = await issueCertificate(ca.dir, 'client', 'leaf', { key: 'ec' });
  const other = await labCa(tmp, 'b');
  const otherCrl = await generateCrl(other.dir);
  const crl3 = await generateCrl(ca.dir);
  const before = (await readdir(store)).sort();
  await assert.rejects(
    () => storeAdd(store, [crl3.crlPath, leaf.certPath, otherCrl.crlPath, leaf.keyPath]),
    (e: Error) =>
      /nothing was added/.test(e.message) &&
      /is not a CA certificate/.test(e.message) &&
      /issuer CN=b CA is not a CA in the directory/.test(e.message) &&
      /PRIVATE KEY/.test(e.message),
  );
  assert.deepEqual((await readdir(store)).sort(), before);

  // a CRL whose issuer name is in the directory but signed by another key (same CN)
  const impostor = await labCa(tmp, 'imp', 'a CA');
  assert.equal(impostor.hash, ca.hash);
  const forged = await generateCrl(impostor.dir);
  await assert.rejects(() => storeAdd(store, [forged.crlPath]), /signature does not verify/);

  // the first free index is used, filling a gap left by a removed file
  await unlink(path.join(store, `${ca.hash}.r0`));
  r = await storeAdd(store, [crl3.crlPath]);
  assert.deepEqual(
    r.installed.map((i) => path.basename(i.path)),
    [`${ca.hash}.r0`],
  );
  // no temp files are left behind
  assert.deepEqual(
    (await readdir(store)).filter((f) => f.startsWith('.')),
    [],
  );
  await assert.rejects(() => storeAdd(path.join(tmp, 'none'), [ca.cert]), /does not exist/);
});

test('store doctor finds each problem with the right exit code', async (t) => {
  const tmp = await tempDir(t);
  const ca = await labCa(tmp, 'ca');
  const fresh = async (name: string) => {
    const d = path.join(tmp, name);
    await mkdir(d);
    return d;
  };
  const codes = async (d: string, warnWithinMs?: number) => {
    const r = await doctor(d, { warnWithinMs });
    return { exit: r.exitCode, codes: [...new Set(r.problems.map((p) => p.code))].sort() };
  };

  // explicit `now`: generateCrl then does not wait for the next second (CRL order does not matter here)
  const good = (await generateCrl(ca.dir, { now: new Date() })).crlPath;
  await copyFile(good, path.join(tmp, 'good.crl'));
  const publishGood = (d: string) => storeAdd(d, [ca.cert, path.join(tmp, 'good.crl')]);
  const clean = await fresh('clean');
  await publishGood(clean);
  assert.deepEqual(await codes(clean), { exit: 0, codes: [] });

  const expiring = await fresh('expiring');
  await copyFile(
    (await generateCrl(ca.dir, { days: 3, now: new Date() })).crlPath,
    path.join(tmp, 'expiring.crl'),
  );
  await storeAdd(expiring, [ca.cert, path.join(tmp, 'expiring.crl')]);
  assert.deepEqual(await codes(expiring), { exit: 1, codes: ['crl_expiring'] });
  assert.deepEqual(await codes(expiring, DAY_MS), { exit: 0, codes: [] });

  const noCrl = await fresh('no-crl');
  await storeAdd(noCrl, [ca.cert]);
  assert.deepEqual(await codes(noCrl), { exit: 2, codes: ['ca_without_crl'] });

  const expired = await fresh('expired');
  const old = await generateCrl(ca.dir, { now: new Date(Date.now() - 40 * DAY_MS), days: 30 });
  await storeAdd(expired, [ca.cert, old.crlPath]);
  assert.deepEqual(await codes(expired), { exit: 2, codes: ['crl_expired'] });

  const future = await fresh('future');
  const later = await generateCrl(ca.dir, { now: new Date(Date.now() + 5 * DAY_MS) });
  await storeAdd(future, [ca.cert, later.crlPath]);
  assert.deepEqual(await codes(future), { exit: 2, codes: ['crl_not_yet_valid'] });

  // signature from another key with the same name, copied in by hand (store add refuses it)
  const badSig = await fresh('bad-sig');
  await publishGood(badSig);
  const impostor = await labCa(tmp, 'imp', 'ca CA');
  await copyFile(
    (await generateCrl(impostor.dir, { now: new Date() })).crlPath,
    path.join(badSig, `${ca.hash}.r1`),
  );
  assert.deepEqual(await codes(badSig), { exit: 2, codes: ['crl_bad_signature'] });

  const misnamed = await fresh('misnamed');
  await publishGood(misnamed);
  await copyFile(impostor.cert, path.join(misnamed, 'deadbeef.0'));
  assert.deepEqual(await codes(misnamed), { exit: 2, codes: ['hash_mismatch'] });

  const gap = await fresh('gap');
  await publishGood(gap);
  await copyFile(path.join(tmp, 'expiring.crl'), path.join(gap, `${ca.hash}.r2`));
  // the newer (expiring) CRL supersedes the good one (src/trust/floors.ts), so its expiry is reported too
  assert.deepEqual(await codes(gap), { exit: 1, codes: ['crl_expiring', 'sequence_gap'] });

  const leafDir = await fresh('leaf');
  await publishGood(leafDir);
  const leaf = await issueCertificate(ca.dir, 'client', 'leaf', { key: 'ec' });
  await copyFile(leaf.certPath, path.join(leafDir, `${await hashOfFile(leaf.certPath)}.0`));
  assert.deepEqual(await codes(leafDir), { exit: 2, codes: ['not_a_ca'] });

  const oldCaDir = await fresh('old-ca');
  const oldCa = path.join(tmp, 'oldca');
  await initCa(oldCa, { key: 'ec', days: 1, now: new Date(Date.now() - 10 * DAY_MS) });
  await generateCrl(oldCa, { publishTo: oldCaDir, now: new Date() });
  assert.ok((await codes(oldCaDir)).codes.includes('ca_expired'));

  const garbage = await fresh('garbage');
  await publishGood(garbage);
  await writeFile(path.join(garbage, `${ca.hash}.r1`), '-----BEGIN X509 CRL-----\nMIIB');
  assert.deepEqual(await codes(garbage), { exit: 2, codes: ['unparsable'] });

  const stray = await fresh('stray');
  await publishGood(stray);
  await writeFile(path.join(stray, 'README.txt'), 'notes');
  assert.deepEqual(await codes(stray), { exit: 1, codes: ['stray_file'] });

  const orphan = await fresh('orphan');
  await publishGood(orphan);
  const other = await labCa(tmp, 'other');
  await copyFile(
    (await generateCrl(other.dir, { now: new Date() })).crlPath,
    path.join(orphan, `${other.hash}.r0`),
  );
  assert.deepEqual(await codes(orphan), { exit: 2, codes: ['crl_issuer_unknown'] });

  assert.deepEqual(await codes(await fresh('empty')), { exit: 2, codes: ['no_ca'] });
  await assert.rejects(
    () => doctor(path.join(tmp, 'absent')),
    (e: Error & { exitCode?: number }) => e.exitCode === 2,
  );
});

test('renew-crls publishes only when the published CRL is missing or expiring', async (t) => {
  const tmp = await tempDir(t);
  const ca = await labCa(tmp, 'ca');
  const store = path.join(tmp, 'store');
  await mkdir(store);
  const week = 7 * DAY_MS;

  let r = await renewCrls(ca.dir, store, { ifExpiringWithinMs: week });
  assert.equal(r.renewed, true);
  assert.match(r.reason, /not in/);
  assert.equal(r.crl?.publishedPath, path.join(store, `${ca.hash}.r0`));
  // a CRL's times have whole seconds
  const nextUpdate = new Date(Math.floor(r.crl!.nextUpdate.getTime() / 1000) * 1000);

  r = await renewCrls(ca.dir, store, { ifExpiringWithinMs: week });
  assert.equal(r.renewed, false);
  assert.equal(r.reason, `the published CRL is valid until ${nextUpdate.toISOString()}`);

  r = await renewCrls(ca.dir, store, { ifExpiringWithinMs: 40 * DAY_MS, days: 60 });
  assert.equal(r.renewed, true);
  assert.equal(r.crl?.publishedPath, path.join(store, `${ca.hash}.r1`));
  assert.deepEqual((await doctor(store)).exitCode, 0);

  await assert.rejects(
    () => renewCrls(path.join(tmp, 'nope'), store, { ifExpiringWithinMs: week }),
    /does not exist/,
  );
});
