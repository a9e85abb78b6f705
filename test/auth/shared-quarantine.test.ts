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
  authFailuresPerAddress = 1000,
  // every etcd call's deadline: 500 ms made a reachable etcd (fsyncing on a busy machine) look down, so
  // only the test that stops etcd keeps it short (there it is how long each call waits for nothing)
  connectTimeoutMs = 10_000,
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
      { connectTimeoutMs },
    ),
    limits: { ...DEFAULT_SERVER_LIMITS, authFailuresPerAddress },
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
  // each server alone has seen fewer than 3 failures
  assert.equal(await quarantined(b, '198.51.100.67'), false);
  assert.equal(await status(a, 'wrong', attacker), 401); // third failure across the fleet
  // (probing with the right password before the lock exists would be a success, which resets the count)
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await waitUntil(async () => (await kv.getAll().prefix(`${PREFIX}/locked/`).count()) === 1, 'lock written');
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
  const a = await server(t, etcd, true, 1000, 500);
  assert.equal(await status(a, 'password1', '192.0.2.1'), 200);
  await etcd.stop();
  // the right password still works (users are mirrored), wrong ones lock out locally after 3
  assert.equal(await status(a, 'password1', '192.0.2.2'), 200);
  for (let i = 0; i < 3; i++) assert.equal(await status(a, 'wrong', '192.0.2.3'), 401);
  assert.equal(await quarantined(a, '192.0.2.3'), true);
  await waitUntil(
    () => log.matching(/shared quarantine in etcd unreachable[^\n]*quarantine\/ error=/).length === 1,
    'the outage logged once',
  );
  assert.equal(await status(a, 'password1', '192.0.2.4'), 200);
});

const failureKeys = async (kv: Etcd3) => kv.getAll().prefix(`${PREFIX}/failures/`).exec();

test('a success resets the shared failures this server wrote: spaced typos of a legitimate user never lock it out', async (t) => {
  const { etcd, kv } = await withUser(t);
  const a = await server(t, etcd);
  const user = '192.0.2.10';
  for (let round = 0; round < 3; round++) {
    // two typos (the limit is 3), then the right password
    for (let i = 0; i < 2; i++) assert.equal(await status(a, 'wrong', user), 401);
    await waitUntil(async () => (await failureKeys(kv)).kvs.length === 2, 'two failures in etcd');
    assert.equal(await status(a, 'password1', user), 200, `round ${round}: let in`);
    await waitUntil(async () => (await failureKeys(kv)).kvs.length === 0, 'failures reset by the success');
  }
});

test('failure keys share one lease per server and tenth of the period, not one lease each', async (t) => {
  const { etcd, kv } = await withUser(t);
  const a = await server(t, etcd);
  // distinct addresses: distinct pairs, so none reaches the limit
  for (let i = 0; i < 12; i++) assert.equal(await status(a, 'wrong', `198.51.100.${i}`), 401);
  await waitUntil(async () => (await failureKeys(kv)).kvs.length === 12, 'twelve failures in etcd');
  const leases = new Set((await failureKeys(kv)).kvs.map((k) => k.lease));
  assert.equal(leases.size, 1, `leases: ${[...leases].join(', ')}`);
});

test('password spraying round-robined over two servers: the per-address failure rate is counted across the fleet', async (t) => {
  const { etcd } = await withUser(t);
  const a = await server(t, etcd, true, 4);
  const b = await server(t, etcd, true, 4);
  const sprayer = '203.0.113.77';
  const guess = (s: Authenticator, user: string) =>
    s.authenticateBasic(basic(user, 'Winter2026!'), sprayer).then((d) => (d.ok ? 200 : d.status));
  // one guess per user name (the per-user quarantine never triggers), alternating servers: 2 failures each
  for (const [i, s] of [a, b, a, b].entries()) assert.equal(await guess(s, `user${i + 10}`), 401);
  // each server alone is under its 4 per period (2 each); the fleet has seen 4 from this address
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await waitUntil(
    async () => (await kv.getAll().prefix(`${PREFIX}/addresses/locked/`).count()) === 1,
    'the address locked in etcd',
  );
  // a fresh user name each time (a repeated guess is answered from the verdict cache, before any limit);
  // one more 401 is allowed on each server for the watch delay, still under the local limit of 4
  let n = 20;
  for (const s of [a, b]) {
    const first = await guess(s, `user${n++}`);
    if (first !== 429) assert.equal(await guess(s, `user${n++}`), 429);
  }
  // another address is not touched
  assert.equal(await status(b, 'password1', '203.0.113.78'), 200);
});

test('a burst of concurrent wrong guesses: the lockout is logged and written to etcd once', async (t) => {
  const log = captureLog(t);
  const { etcd, kv } = await withUser(t);
  const a = await server(t, etcd);
  const attacker = '198.51.100.99';
  const watcher = kv.watch().prefix(`${PREFIX}/locked/`);
  let lockWrites = 0;
  const watch = await watcher.create();
  t.after(() => watch.cancel());
  watch.on('put', () => lockWrites++);
  await Promise.all(Array.from({ length: 12 }, (_, i) => status(a, `wrong${i}`, attacker)));
  // all 12 are answered; the lock's put is seen through the watch (failure keys are not waited on: a guess
  // whose verification began before the lock may still record its failure after it, under its lease)
  await waitUntil(() => lockWrites >= 1, 'the lock written');
  // let the last in-flight failures finish their etcd round trips
  await waitUntil(async () => (await kv.getAll().prefix(`${PREFIX}/locked/`).count()) === 1, 'one lock');
  assert.equal(await quarantined(a, attacker), true);
  assert.equal(log.matching(/quarantined/).length, 1, log.matching(/quarantined/).join('\n'));
  assert.equal(lockWrites, 1);
});

test('a server reading a lock late keeps it only until the end its writer set, not a full period from then', async (t) => {
  const { etcd, kv } = await withUser(t);
  const victim = '203.0.113.50';
  const name = Buffer.from(`user1:${victim}`).toString('base64url');
  // a lock written by another server, ending in 5 s (its lease is longer, as the period is 60 s); the
  // late server must have started and read it before then, which took over 1.5 s on a loaded machine
  const lease = kv.lease(60, { autoKeepAlive: false });
  t.after(() => lease.revoke().catch(() => undefined));
  await lease.put(`${PREFIX}/locked/${name}`).value(String(Date.now() + 5000));
  const late = await server(t, etcd);
  assert.equal(await quarantined(late, victim), true);
  const started = Date.now();
  await waitUntil(async () => !(await quarantined(late, victim)), 'the lock over', 30_000);
  assert.ok(Date.now() - started < 30_000, 'ended with its writer, not 60 s after the late read');
});
