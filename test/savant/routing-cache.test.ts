// Routing-id filter and blacklist state machines (src/savant/routing-cache.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingIdCache, SourceBlacklist } from '../../src/savant/routing-cache.js';

const b = (s: string) => Buffer.from(s);

test('routing ids: current sender allowed, superseded refused, forgotten after LRU eviction', () => {
  const c = new RoutingIdCache(1);
  assert.ok(c.allow(b('t'), b('A')));
  assert.ok(c.allow(b('t'), b('A')));
  assert.ok(c.allow(b('t'), b('B')), 'a new sender takes over');
  assert.equal(c.allow(b('t'), b('A')), false, 'the old one is refused');
  assert.ok(c.allow(b('u'), b('A')), 'per topic');
  assert.ok(c.allow(b('u'), b('C')), 'supersedes (u, A), evicting (t, A) from a cache of size 1');
  assert.ok(c.allow(b('t'), b('A')), 'evicted pair is a new sender again');
  assert.throws(() => new RoutingIdCache(0), RangeError);
});

test('routing ids: binary topics and ids do not collide', () => {
  const c = new RoutingIdCache(8);
  assert.ok(c.allow(b('ab'), b('c')));
  assert.ok(c.allow(b('ab'), b('d')));
  assert.ok(c.allow(b('a'), b('bc')), "('a','bc') is not the superseded ('ab','c')");
});

test('blacklist: refused until the TTL passes, then forgotten', () => {
  const bl = new SourceBlacklist(2, 1000);
  bl.blacklist(b('t'), 0);
  assert.ok(bl.isBlacklisted(b('t'), 999));
  assert.equal(bl.isBlacklisted(b('t'), 1000), false);
  assert.equal(bl.isBlacklisted(b('x'), 0), false);
});
