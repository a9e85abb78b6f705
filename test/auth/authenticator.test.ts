// Basic auth and certificate identities against a real etcd (test/helpers/etcd.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { Authenticator, parseBasicHeader } from '../../src/auth/authenticator.js';
import { createEtcdClient } from '../../src/auth/etcd-client.js';
import { LruCache } from '../../src/auth/lru.js';
import { exportFamilies, registry } from '../../src/metrics/registry.js';
import type { PeerIdentity } from '../../src/tls/identity.js';
import { startEtcd } from '../helpers/etcd.js';
import { VECTORS, afterChange, basic, basicConfig, etcdConfig, nextEvent } from './fixtures.js';

const ADDR = '127.0.0.1';
// The families a server with Basic auth and quarantine exports (src/ops/families.ts); these tests run the
// Authenticator without a server, so they switch them on themselves.
exportFamilies(['auth', 'quarantine']);

function record(password: string, labels?: unknown): string {
  return JSON.stringify({
    password_hash: VECTORS[password],
    ...(labels ? { allowed_routing_labels: labels } : {}),
  });
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values ?? []).find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v ? Number(v.value) : 0;
}

/**
 * Long enough that the checks made while the pair is quarantined (an Argon2 verification, a metrics read)
 * finish inside it on a loaded machine; 500 ms was not always.
 */
const QUARANTINE_MS = 3000;

test('the original documentation scenario, live changes, statuses and the credential cache', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/user1').value(record('password1', { set: 'label' }));
  const auth = await Authenticator.open({
    basic: basicConfig(etcd, { quarantine: { failedAttemptLimit: 3, periodMs: QUARANTINE_MS } }),
  });
  t.after(() => auth.close());
  assert.deepEqual(auth.health(), { healthy: true, reasons: [] });
  assert.equal(await metric('media_gateway_etcd_connected'), 1);

  // user1/password1 accepted, with its label rule
  assert.deepEqual(await auth.authenticateBasic(basic('user1', 'password1'), ADDR), {
    ok: true,
    user: 'user1',
    rule: { set: 'label' },
  });
  // a repeated request does not pay another Argon2 verification
  const before = auth.verifications;
  for (let i = 0; i < 5; i++)
    assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), ADDR)).ok, true);
  assert.equal(auth.verifications, before);

  // wrong password 401 without challenge; three failures quarantine the right password too
  const wrong = await auth.authenticateBasic(basic('user1', 'nope'), ADDR);
  assert.deepEqual(wrong, { ok: false, status: 401, challenge: false, reason: 'wrong password' });
  await auth.authenticateBasic(basic('user1', 'nope'), ADDR);
  await auth.authenticateBasic(basic('user1', 'nope'), ADDR);
  const quarantinedUntil = Date.now() + QUARANTINE_MS;
  const q = await auth.authenticateBasic(basic('user1', 'password1'), ADDR);
  assert.deepEqual(q, { ok: false, status: 401, challenge: false, reason: 'quarantined' });
  assert.equal(await metric('media_gateway_auth_quarantined'), 1);
  // the quarantine is per client address: the same user from elsewhere is not locked out
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), '10.0.0.9')).ok, true);
  // the quarantine period itself is what is under test
  await sleep(quarantinedUntil + 50 - Date.now());
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), ADDR)).ok, true);
  assert.equal(await metric('media_gateway_auth_quarantined'), 0);

  // user2 added while running
  await afterChange(auth, 'user2', () => kv.put('/users/user2').value(record('password2')));
  assert.deepEqual(await auth.authenticateBasic(basic('user2', 'password2'), ADDR), {
    ok: true,
    user: 'user2',
  });
  // user2's password changed while running: old refused, new accepted (the cached verdict is per stored hash)
  await afterChange(auth, 'user2', () => kv.put('/users/user2').value(record('password')));
  assert.equal((await auth.authenticateBasic(basic('user2', 'password2'), ADDR)).ok, false);
  assert.equal((await auth.authenticateBasic(basic('user2', 'password'), ADDR)).ok, true);
  // deleted user refused at once
  await afterChange(auth, 'user2', () => kv.delete().key('/users/user2'));
  assert.deepEqual(await auth.authenticateBasic(basic('user2', 'password'), ADDR), {
    ok: false,
    status: 401,
    challenge: false,
    reason: 'unknown user',
  });

  // header problems ask for credentials; a missing password part is refused without counting
  for (const h of [
    undefined,
    '',
    'Bearer abc',
    'Basic',
    'Basic !!!',
    'Basic ' + Buffer.from([0xff, 0x3a]).toString('base64'),
  ]) {
    const d = await auth.authenticateBasic(h, ADDR);
    assert.deepEqual(
      d,
      { ok: false, status: 401, challenge: true, reason: 'missing or malformed Authorization header' },
      String(h),
    );
  }
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await auth.authenticateBasic(basic('user1'), ADDR), {
      ok: false,
      status: 401,
      challenge: false,
      reason: 'password missing',
    });
  }
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), ADDR)).ok, true);

  // unparsable stored hash → 401; a record that is not valid JSON → 500 (store error)
  await afterChange(auth, 'broken', () =>
    kv.put('/users/broken').value('{"password_hash": "not-a-phc-string"}'),
  );
  assert.deepEqual(await auth.authenticateBasic(basic('broken', 'x'), ADDR), {
    ok: false,
    status: 401,
    challenge: false,
    reason: 'unparsable stored hash',
  });
  await afterChange(auth, 'garbled', () => kv.put('/users/garbled').value('{password_hash'));
  assert.deepEqual(await auth.authenticateBasic(basic('garbled', 'x'), ADDR), {
    ok: false,
    status: 500,
    challenge: false,
    reason: 'invalid user record',
  });
  assert.ok(
    (await metric('media_gateway_auth_outcomes_total', { method: 'basic', result: 'bad_credentials' })) >= 3,
  );

  // authorization by routing labels
  const granted = await auth.authenticateBasic(basic('user1', 'password1'), ADDR);
  assert.ok(granted.ok);
  assert.equal(auth.authorize(granted, ['label', 'x']), true);
  assert.equal(auth.authorize(granted, ['x']), false);
  assert.equal(auth.authorize({ ok: true, user: 'free' }, []), true);
});

test('the Argon2 vectors of the original verify against their password only', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  for (const pw of Object.keys(VECTORS)) await kv.put(`/users/u-${pw}`).value(record(pw));
  const auth = await Authenticator.open({ basic: basicConfig(etcd) });
  t.after(() => auth.close());
  for (const owner of Object.keys(VECTORS)) {
    for (const tried of Object.keys(VECTORS)) {
      const d = await auth.authenticateBasic(basic(`u-${owner}`, tried), ADDR);
      assert.equal(d.ok, owner === tried, `hash of ${owner} tried with ${tried}`);
    }
  }
});

test('YAML records with tagged label rules', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv
    .put('/yaml/users/cam')
    .value(
      `password_hash: "${VECTORS.password}"\nallowed_routing_labels: !and [!set camera, !not {set: private}]\n`,
    );
  const auth = await Authenticator.open({
    basic: basicConfig(etcd, {}, { path: '/yaml/users/', dataFormat: 'yaml' }),
  });
  t.after(() => auth.close());
  const d = await auth.authenticateBasic(basic('cam', 'password'), ADDR);
  assert.ok(d.ok);
  assert.deepEqual(d.rule, { and: [{ set: 'camera' }, { not: { set: 'private' } }] });
  assert.equal(auth.authorize(d, ['camera']), true);
  assert.equal(auth.authorize(d, ['camera', 'private']), false);
  assert.equal(auth.authorize(d, []), false);
});

test('etcd stopped and restarted while running: users still served, health degraded, recovers', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/user1').value(record('password1'));
  const auth = await Authenticator.open({ basic: basicConfig(etcd) });
  t.after(() => auth.close());

  const down = nextEvent(auth, 'disconnected');
  await etcd.stop();
  await down;
  assert.equal(auth.health().healthy, false);
  assert.match(auth.health().reasons[0], /etcd unreachable; serving 1 records under \/users\//);
  assert.equal(await metric('media_gateway_etcd_connected'), 0);
  assert.deepEqual(await auth.authenticateBasic(basic('user1', 'password1'), ADDR), {
    ok: true,
    user: 'user1',
  });

  const up = nextEvent(auth, 'synced');
  await etcd.start();
  await up;
  assert.deepEqual(auth.health(), { healthy: true, reasons: [] });
  assert.equal(await metric('media_gateway_etcd_connected'), 1);
  // the watch is live again
  const kv2 = new Etcd3({ hosts: etcd.url });
  t.after(() => kv2.close());
  await afterChange(auth, 'user3', () => kv2.put('/users/user3').value(record('password')));
  assert.equal((await auth.authenticateBasic(basic('user3', 'password'), ADDR)).ok, true);
});

test('etcd unreachable at start: requests get 500 until the first load, then work', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  await kv.put('/users/user1').value(record('password1'));
  kv.close();
  await etcd.stop();
  const auth = await Authenticator.open({ basic: basicConfig(etcd, {}, { connectTimeoutMs: 300 }) });
  t.after(() => auth.close());
  const d = await auth.authenticateBasic(basic('user1', 'password1'), ADDR);
  assert.equal(d.ok, false);
  assert.equal(!d.ok && d.status, 500);
  assert.match(auth.health().reasons[0], /not loaded yet/);
  const up = nextEvent(auth, 'synced');
  await etcd.start();
  await up;
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), ADDR)).ok, true);
});

test('etcd over TLS with a client certificate', async (t) => {
  const etcd = await startEtcd(t, { tls: true });
  const admin = await createEtcdClient(etcdConfig(etcd));
  t.after(() => admin.close());
  await admin.put('/users/user1').value(record('password1'));
  const auth = await Authenticator.open({ basic: basicConfig(etcd) });
  t.after(() => auth.close());
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), ADDR)).ok, true);
  // without the client identity etcd refuses us: the store never loads and requests get 500
  const noIdentity = await Authenticator.open({
    basic: basicConfig(etcd, {}, { connectTimeoutMs: 500, tls: { rootCertificate: etcd.tls!.caFile } }),
  });
  t.after(() => noIdentity.close());
  const d = await noIdentity.authenticateBasic(basic('user1', 'password1'), ADDR);
  assert.equal(!d.ok && d.status, 500);
});

test('certificate identity mapped to a record and its labels', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv
    .put('/users/certificates/edge-1')
    .value(JSON.stringify({ allowed_routing_labels: { set: 'edge' } }));
  await kv.put('/idents/spiffe://example/cam').value('{}');
  const id = (over: Partial<PeerIdentity>): PeerIdentity => ({
    subject: 'CN=x',
    issuer: 'CN=ca',
    serial: '1',
    dnsNames: [],
    uris: [],
    fingerprint256: 'AA',
    ...over,
  });
  const byCn = await Authenticator.open({
    basic: basicConfig(etcd),
    certificateIdentity: { from: 'cn', required: true },
  });
  t.after(() => byCn.close());
  const d = await byCn.authenticateCertificate(id({ commonName: 'edge-1' }));
  assert.deepEqual(d, { ok: true, user: 'edge-1', rule: { set: 'edge' } });
  assert.equal(byCn.authorize(d as { ok: true; user: string }, ['edge']), true);
  assert.equal(byCn.authorize(d as { ok: true; user: string }, ['other']), false);
  const unknown = await byCn.authenticateCertificate(id({ commonName: 'edge-2' }));
  assert.equal(!unknown.ok && unknown.status, 401);
  assert.equal((await byCn.authenticateCertificate(id({}))).ok, false);
  // a certificate identity record has no password: it never passes Basic auth
  assert.equal((await byCn.authenticateBasic(basic('certificates/edge-1', ''), ADDR)).ok, false);

  const byUri = await Authenticator.open({
    basic: basicConfig(etcd),
    certificateIdentity: { from: 'uri', path: '/idents', required: false },
  });
  t.after(() => byUri.close());
  assert.deepEqual(await byUri.authenticateCertificate(id({ uris: ['spiffe://example/cam'] })), {
    ok: true,
    user: 'spiffe://example/cam',
  });
  // not required: an unknown identity passes without a rule
  assert.deepEqual(await byUri.authenticateCertificate(id({ uris: ['spiffe://other'] })), {
    ok: true,
    user: 'spiffe://other',
  });
  await assert.rejects(
    Authenticator.open({ certificateIdentity: { from: 'dns', required: true } }),
    /certificate_identity needs auth\.basic/,
  );
});

test('Basic header parsing', () => {
  assert.deepEqual(parseBasicHeader(basic('a', 'b:c')), { user: 'a', password: 'b:c' });
  assert.deepEqual(parseBasicHeader('basic ' + Buffer.from('a:').toString('base64')), {
    user: 'a',
    password: '',
  });
  assert.deepEqual(parseBasicHeader(basic('only')), { user: 'only' });
  assert.equal(parseBasicHeader('Basic a'), undefined);
});

test('cache eviction warning in the original wording', async () => {
  const warnings: string[] = [];
  const seen = new Promise<void>((resolve) => {
    const lru = new LruCache<number, number>(
      'credentials',
      { size: 2, usage: { periodMs: 50, evictedThreshold: 1 } },
      (m) => {
        warnings.push(m);
        lru.close();
        resolve();
      },
    );
    for (let i = 0; i < 5; i++) lru.set(i, i);
    assert.equal(lru.size, 2);
    assert.equal(lru.evicted, 3);
  });
  // The cache's usage timer is unref'd (it must not keep a server alive); when nothing else is pending the
  // test runner would see an empty event loop and cancel this test, so a ref'd timer waits with it.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await seen;
  } finally {
    clearInterval(keepAlive);
  }
  assert.deepEqual(warnings, ['Evicted entities threshold is exceeded for credentials: 3 per 0.050 seconds']);
});
