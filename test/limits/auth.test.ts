// Authentication that cannot be turned into a weapon, against a real etcd and real Argon2: unknown users
// cost a verification like wrong passwords and look the same in /metrics, a bounded Argon2 budget answers
// the excess at once while cached users pass, per-address failure rates stop guessing before any hashing,
// and a quarantine cannot be flushed by requests for other users.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import argon2 from 'argon2';
import { Etcd3 } from 'etcd3';
import { Authenticator } from '../../src/auth/authenticator.js';
import {
  DUMMY_HASH_OPTIONS,
  dummyParameters,
  hashParameters,
  type DummyParameters,
} from '../../src/auth/dummy-hash.js';
import { Quarantine } from '../../src/auth/quarantine.js';
import { VerifyGate } from '../../src/auth/verify-gate.js';
import { FailureLimiter } from '../../src/auth/failure-limiter.js';
import { HASH_OPTIONS } from '../../src/cli/users.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/limits.js';
import type { ServerLimits } from '../../src/config/types.js';
import { authOutcomesTotal } from '../../src/metrics/registry.js';
import { startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { current } from '../metrics/prom.js';
import { VECTORS, basic, basicConfig } from '../auth/fixtures.js';

const limits = (over: Partial<ServerLimits>): ServerLimits => ({ ...DEFAULT_SERVER_LIMITS, ...over });

async function withUser(t: { after(fn: () => unknown): void }): Promise<RunningEtcd> {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/user1').value(JSON.stringify({ password_hash: VECTORS['password1'] }));
  await kv.put('/users/nohash').value('{}');
  return etcd;
}

async function open(
  t: { after(fn: () => unknown): void },
  etcd: RunningEtcd,
  over: Partial<ServerLimits>,
  quarantine?: { failedAttemptLimit: number; periodMs: number },
  cacheSize = 100,
): Promise<Authenticator> {
  const auth = await Authenticator.open({
    basic: basicConfig(etcd, { cache: { size: cacheSize }, ...(quarantine ? { quarantine } : {}) }),
    limits: limits(over),
  });
  t.after(() => auth.close());
  return auth;
}

test('unknown users and records without a hash cost one Argon2 verification, like a wrong password, and count as bad_credentials', async (t) => {
  const auth = await open(t, await withUser(t), {});
  const outcome = (result: string) => current(authOutcomesTotal, { method: 'basic', result });
  const before = { v: auth.verifications, bad: await outcome('bad_credentials') };
  for (const [user, password] of [
    ['user1', 'wrong'],
    ['ghost', 'wrong'],
    ['nohash', 'wrong'],
  ]) {
    const d = await auth.authenticateBasic(basic(user, password), '127.0.0.1');
    assert.equal(d.ok, false);
    assert.equal(!d.ok && d.status, 401);
  }
  assert.equal(auth.verifications - before.v, 3, 'one verification each');
  assert.equal((await outcome('bad_credentials')) - before.bad, 3);
  assert.equal(await outcome('unknown_user'), 0);
  assert.equal(await outcome('wrong_password'), 0);
});

test('the dummy hash has the parameters of the hashes `users` writes', () => {
  assert.deepEqual(DUMMY_HASH_OPTIONS, HASH_OPTIONS);
});

const SAMPLE_PARAMETERS: DummyParameters = {
  type: 1,
  version: 0x13,
  memoryCost: 12,
  timeCost: 3,
  parallelism: 1,
  hashLength: 32,
};

test('hashParameters reads variant, version, memory, passes, lanes and output length from a PHC string', async () => {
  assert.deepEqual(hashParameters(VECTORS['password1']), SAMPLE_PARAMETERS);
  assert.deepEqual(hashParameters('$argon2d$m=8,t=1,p=2$c2FsdHNhbHQ$' + 'A'.repeat(22)), {
    type: 0,
    version: 0x10,
    memoryCost: 8,
    timeCost: 1,
    parallelism: 2,
    hashLength: 16,
  });
  // node-argon2 writes the parameters in the order m, p, t
  assert.deepEqual(
    hashParameters(
      '$argon2i$v=19$m=12,p=1,t=3$7hzVahEaQj06ZvCVZwwcDg$IBXqHupjHfGlqYXm46p3jY0PnK9Jb20yNLZ1vxGeGoA',
    ),
    SAMPLE_PARAMETERS,
  );
  assert.deepEqual(hashParameters(await argon2.hash('pw', HASH_OPTIONS)), {
    ...HASH_OPTIONS,
    version: 0x13,
    hashLength: 32,
  });
  for (const bad of [
    '',
    'plain',
    '$2b$10$abcdefghijklmnopqrstuv',
    '$argon2id$v=19$m=1,t=1$s$h',
    '$argon2x$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA',
  ])
    assert.equal(hashParameters(bad), undefined, bad);
});

test('dummyParameters: the parameters most stored hashes share, the defaults when none, independent of order', () => {
  const id64 = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$' + 'A'.repeat(43);
  assert.deepEqual(dummyParameters([]), { ...DUMMY_HASH_OPTIONS, version: 0x13, hashLength: 32 });
  assert.deepEqual(dummyParameters(['not a hash']), dummyParameters([]));
  const samples = [VECTORS['password'], VECTORS['password1'], VECTORS['password2']];
  assert.deepEqual(dummyParameters([id64, ...samples]), SAMPLE_PARAMETERS);
  assert.deepEqual(dummyParameters([...samples, id64, id64, id64, id64]), hashParameters(id64));
  // a tie goes to the costlier parameters, whichever comes first
  assert.deepEqual(dummyParameters([id64, VECTORS['password']]), hashParameters(id64));
  assert.deepEqual(dummyParameters([VECTORS['password'], id64]), hashParameters(id64));
});

test('the dummy hash follows the stored hashes: users with other parameters make unknown users cost what they cost', async (t) => {
  const etcd = await withUser(t); // user1 has the 12 KiB sample hash
  const auth = await open(t, etcd, {});
  assert.deepEqual(auth.dummyParameters, SAMPLE_PARAMETERS);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  const changed = new Promise<DummyParameters>((resolve) =>
    auth.events.on('dummy', (p: DummyParameters) => p.memoryCost === 64 && resolve(p)),
  );
  const other = '$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHQ$' + 'A'.repeat(43);
  for (const u of ['a', 'b']) await kv.put(`/users/${u}`).value(JSON.stringify({ password_hash: other }));
  assert.deepEqual(await changed, hashParameters(other));
  assert.equal((await auth.authenticateBasic(basic('ghost', 'x'), '127.0.0.1')).ok, false);
});

test('stored hashes whose parameters argon2 refuses leave the dummy at the defaults; unknown users still get 401', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  const refused = '$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$' + 'A'.repeat(43); // m below argon2's minimum
  for (const u of ['a', 'b']) await kv.put(`/users/${u}`).value(JSON.stringify({ password_hash: refused }));
  const auth = await open(t, etcd, {});
  assert.deepEqual(auth.dummyParameters, dummyParameters([]));
  const d = await auth.authenticateBasic(basic('ghost', 'x'), '127.0.0.1');
  assert.equal(!d.ok && d.status, 401);
});

test('the Argon2 budget: beyond concurrency + queue a verification is refused at once (503), cached users pass meanwhile', async (t) => {
  const auth = await open(t, await withUser(t), {
    maxConcurrentVerifications: 1,
    maxQueuedVerifications: 1,
    authFailuresPerAddress: 1000,
  });
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), '127.0.0.1')).ok, true);
  let settled = 0;
  const flood = Array.from({ length: 6 }, (_, i) =>
    auth.authenticateBasic(basic('user1', `guess${i}`), `10.0.0.${i + 1}`).finally(() => settled++),
  );
  // the cached user is answered while the flood's verifications are still running
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), '127.0.0.1')).ok, true);
  assert.equal(settled < 6, true, 'the flood is still being verified');
  const answers = await Promise.all(flood);
  const busy = answers.filter((a) => !a.ok && a.status === 503);
  assert.equal(busy.length, 4, 'one running, one queued, four refused');
  for (const b of busy) assert.equal(!b.ok && b.retryAfterSeconds, 1);
  assert.equal(answers.filter((a) => !a.ok && a.status === 401).length, 2);
});

test('per-address failure rate: past the limit an address gets 429 without any hashing; other addresses are unaffected', async (t) => {
  const auth = await open(t, await withUser(t), { authFailuresPerAddress: 3, authFailurePeriodMs: 60_000 });
  for (let i = 0; i < 3; i++)
    assert.equal((await auth.authenticateBasic(basic('user1', `g${i}`), '10.1.1.1')).ok, false);
  const before = auth.verifications;
  const limited = await auth.authenticateBasic(basic('ghost', 'another'), '10.1.1.1');
  assert.equal(!limited.ok && limited.status, 429);
  assert.ok(!limited.ok && limited.retryAfterSeconds! >= 1);
  assert.equal(auth.verifications, before, 'no hashing for a limited address');
  assert.equal((await auth.authenticateBasic(basic('user1', 'password1'), '10.2.2.2')).ok, true);
});

test('quarantine bypass: unknown-user requests from the locked address (more than the cache holds) do not flush its lockout', async (t) => {
  const auth = await open(
    t,
    await withUser(t),
    { authFailuresPerAddress: 1000 },
    { failedAttemptLimit: 2, periodMs: 600_000 },
    2,
  );
  const A = '10.3.3.3';
  await auth.authenticateBasic(basic('user1', 'x1'), A);
  await auth.authenticateBasic(basic('user1', 'x2'), A);
  for (let i = 0; i < 5; i++) await auth.authenticateBasic(basic(`nobody${i}`, 'x'), A);
  const d = await auth.authenticateBasic(basic('user1', 'password1'), A);
  assert.deepEqual(d, { ok: false, status: 401, challenge: false, reason: 'quarantined' });
});

test('the quarantine table: holds every lock for its full period, refuses new ones when full, sweeps expired ones', () => {
  let now = 0;
  const q = new Quarantine({ failedAttemptLimit: 1, periodMs: 1000 }, { size: 2 }, 2, () => now);
  t_assertOutcome(q.recordFailure('a', '1'), 'quarantined');
  t_assertOutcome(q.recordFailure('b', '1'), 'quarantined');
  t_assertOutcome(q.recordFailure('c', '1'), 'table_full');
  assert.equal(q.isQuarantined('a', '1'), true);
  assert.equal(q.isQuarantined('c', '1'), false);
  now = 999;
  assert.equal(q.isQuarantined('b', '1'), true, 'held for the full period');
  now = 1000;
  assert.equal(q.isQuarantined('a', '1'), false);
  t_assertOutcome(q.recordFailure('c', '1'), 'quarantined');
  q.close();
});

function t_assertOutcome(actual: string, expected: string): void {
  assert.equal(actual, expected);
}

test('VerifyGate: runs up to its concurrency, queues up to its queue, refuses beyond, hands slots on', async () => {
  const gate = new VerifyGate(1, 1);
  const releases: (() => void)[] = [];
  const work = () => new Promise<void>((r) => releases.push(r));
  const first = gate.run(work);
  const second = gate.run(work);
  assert.ok(first && second);
  assert.equal(gate.run(work), undefined);
  assert.equal(gate.load, 2);
  await new Promise(setImmediate);
  releases[0]();
  await first;
  await new Promise(setImmediate);
  assert.equal(releases.length, 2, 'the queued one started');
  releases[1]();
  await second;
  assert.equal(gate.load, 0);
});

test('FailureLimiter: tokens refill with time; IPv6 addresses share their /64', () => {
  let now = 0;
  const l = new FailureLimiter(2, 1000, () => now);
  l.recordFailure('2001:db8::1');
  l.recordFailure('2001:db8::2');
  assert.equal(l.retryAfterSeconds('2001:db8::3'), 1);
  now = 500;
  assert.equal(l.retryAfterSeconds('2001:db8::1'), 0);
  assert.equal(l.retryAfterSeconds('10.0.0.1'), 0);
});
