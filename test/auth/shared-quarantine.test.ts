// The fleet's shared quarantine (src/auth/shared-quarantine.ts) against a real etcd: two authenticators stand
// for two servers behind a balancer. Failures spread over both count once towards the limit, the lockout
// holds on both, for that address only; with etcd stopped mid-test each server goes on with its own table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { Authenticator } from '../../src/auth/authenticator.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/limits.js';
import { startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitUntil } from '../client/fixtures.js';
import { VECTORS, basic, basicConfig } from './fixtures.js';

const PREFIX = '/media-gateway/quarantine';

async function withUser(t: { after(fn: () => unknown): void }): Promise<{ etcd: RunningEtcd; kv: Etcd3 }> {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/user1').value(JSON.stringify({ password_hash: VECTORS['password1'] }));
  return { etcd, kv };
}

async function server(
  t: { after(fn: () => unknown): void },
  etcd: RunningEtcd,
  shared = true,
): Promise<Authenticator> {
  const auth = await Authenticator.open({
    basic: basicConfig(
      etcd,
      {
        cache: { size: 100 },
        quarantine: {
          failedAttemptLimit: 3,
          periodMs: 60_000,
          ...(shared ? { shared: { prefix: PREFIX } } : {}),
        },
      },
      { connectTimeoutMs: 500 },
    ),
    limits: { ...DEFAULT_SERVER_LIMITS, authFailuresPerAddress: 1000 },
  });
  t.after(() => auth.close());
  return auth;
}

const status = async (auth: Authenticator, password: string, address: string) => {
  const d = await auth.authenticateBasic(basic('user1', password), address);
  return d.ok ? 200 : d.status;
};
const quarantined = async (auth: Authenticator, address: string) => {
  const d = await auth.authenticateBasic(basic('user1', 'password1'), address);
  return !d.ok && d.reason === 'quarantined';
};

test('failures round-robined over two servers count once: the limit is reached fleet-wide and holds on both, for that address only', async (t) => {
  const log = captureLog(t);
  const { etcd } = await withUser(t);
  const a = await server(t, etcd);
  const b = await server(t, etcd);
  const attacker = '198.51.100.66';
  assert.equal(await status(a, 'wrong', attacker), 401);
  assert.equal(await status(b, 'wrong', attacker), 401);
  // each server alone has seen fewer than 3 failures: still let in
  assert.equal(await status(a, 'password1', attacker), 200);
  assert.equal(await status(a, 'wrong', attacker), 401); // third failure across the fleet
  await waitUntil(
    async () => (await quarantined(a, attacker)) && (await quarantined(b, attacker)),
    'locked on both',
  );
  // another client address of the same user is not touched, on either server
  assert.equal(await status(a, 'password1', '198.51.100.7'), 200);
  assert.equal(await status(b, 'password1', '198.51.100.7'), 200);
  assert.match(log.matching(/quarantined/).join('\n'), /remote=198\.51\.100\.66\b/);
});

test('without the shared setting each server counts alone (what the shared quarantine prevents)', async (t) => {
  const { etcd } = await withUser(t);
  const a = await server(t, etcd, false);
  const b = await server(t, etcd, false);
  const attacker = '198.51.100.66';
  for (const s of [a, b, a, b]) assert.equal(await status(s, 'wrong', attacker), 401);
  assert.equal(await status(b, 'password1', attacker), 200, 'four guesses and still not locked out');
});

test('a server starting later picks up the lockouts already in etcd', async (t) => {
  const { etcd } = await withUser(t);
  const a = await server(t, etcd);
  for (let i = 0; i < 3; i++) assert.equal(await status(a, 'wrong', '203.0.113.9'), 401);
  const { kv } = { kv: new Etcd3({ hosts: etcd.url }) };
  t.after(() => kv.close());
  await waitUntil(async () => (await kv.getAll().prefix(`${PREFIX}/locked/`).count()) === 1, 'lock written');
  const late = await server(t, etcd);
  assert.equal(await quarantined(late, '203.0.113.9'), true);
});

test('etcd stopped mid-test: the servers keep authenticating and quarantining on their own', async (t) => {
  const log = captureLog(t);
  const { etcd } = await withUser(t);
  const a = await server(t, etcd);
  assert.equal(await status(a, 'password1', '192.0.2.1'), 200);
  await etcd.stop();
  // the right password still works (users are mirrored), wrong ones lock out locally after 3
  assert.equal(await status(a, 'password1', '192.0.2.2'), 200);
  for (let i = 0; i < 3; i++) assert.equal(await status(a, 'wrong', '192.0.2.3'), 401);
  assert.equal(await quarantined(a, '192.0.2.3'), true);
  await waitUntil(
    () => log.matching(/shared quarantine in etcd unreachable/).length === 1,
    'the outage logged once',
  );
  assert.equal(await status(a, 'password1', '192.0.2.4'), 200);
});
