// 429 and 503 over HTTP: a refused login attempt tells the client when to try again (`Retry-After`), both
// when its address failed too often and when the Argon2 budget is full. Real etcd, real Argon2, a real
// server on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import argon2 from 'argon2';
import { Etcd3 } from 'etcd3';
import { HASH_OPTIONS } from '../../src/cli/users.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/limits.js';
import type { ServerLimits } from '../../src/config/types.js';
import { verificationsInFlight } from '../../src/limits/metrics.js';
import { startEtcd } from '../helpers/etcd.js';
import { basic, basicConfig } from '../helpers/basic-auth.js';
import { current } from '../metrics/prom.js';
import { gatewayToRouter, post, PROTOBUF } from '../server/fixtures.js';

async function serverWithUser(t: { after(fn: () => unknown): void }, limits: Partial<ServerLimits>) {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  // the parameters `media-gateway users` writes: a verification takes a few hundred ms
  await kv
    .put('/users/user1')
    .value(JSON.stringify({ password_hash: await argon2.hash('pw', HASH_OPTIONS) }));
  const { server } = await gatewayToRouter(t, {
    auth: { basic: basicConfig(etcd) },
    limits: { ...DEFAULT_SERVER_LIMITS, helperThreadNice: 0, ...limits },
  });
  return server.url + '/';
}

const login = (url: string, password: string) =>
  post(url, new Uint8Array(), { ...PROTOBUF, Authorization: basic('user1', password) });

test('429 after too many failed logins from one address carries Retry-After (whole seconds until a new attempt)', async (t) => {
  const url = await serverWithUser(t, { authFailuresPerAddress: 2, authFailurePeriodMs: 60_000 });
  for (const guess of ['g1', 'g2']) assert.equal((await login(url, guess)).status, 401);
  const limited = await login(url, 'g3');
  assert.equal(limited.status, 429);
  const seconds = Number(limited.headers['retry-after']);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After ${seconds}`);
});

test('503 when the Argon2 budget is full carries Retry-After: 1', async (t) => {
  const url = await serverWithUser(t, { maxConcurrentVerifications: 1, maxQueuedVerifications: 1 });
  const running = login(url, 'first');
  // the first guess is being verified: one more may wait, the next is refused at once
  while ((await current(verificationsInFlight)) < 1) await tick();
  const [second, third] = await Promise.all([login(url, 'second'), login(url, 'third')]);
  const statuses = [second.status, third.status].sort();
  assert.deepEqual(statuses, [401, 503]);
  const busy = second.status === 503 ? second : third;
  assert.equal(busy.headers['retry-after'], '1');
  assert.equal((await running).status, 401);
});
