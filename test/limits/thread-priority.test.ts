// Helper threads below the event loop (src/util/thread-priority.ts): Argon2 runs on libuv pool threads,
// which start its lane threads; lowered, they cannot take the CPU the event loop needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { lowerHelperThreads, poolThreadId, threadNice } from '../../src/util/thread-priority.js';

const others = () =>
  readdirSync('/proc/self/task')
    .map(Number)
    .filter((tid) => tid !== process.pid);

test('nice 0 leaves every thread alone', async () => {
  const before = others().map(threadNice);
  assert.deepEqual(await lowerHelperThreads(0), { lowered: 0, unchanged: 0, failed: 0 });
  assert.deepEqual(others().map(threadNice), before);
});

test('every thread but the main one, the libuv pool included, is lowered; the main thread keeps its priority', async () => {
  const main = threadNice(process.pid);
  const r = await lowerHelperThreads(main + 7);
  assert.ok(r.lowered >= 4, `the four pool threads at least (${JSON.stringify(r)})`);
  assert.equal(r.failed, 0);
  assert.equal(threadNice(process.pid), main);
  assert.equal(threadNice(await poolThreadId()), main + 7);
  for (const tid of others()) assert.ok(threadNice(tid) >= main + 7, `thread ${tid}`);
  // a second call finds them lowered already
  assert.equal((await lowerHelperThreads(main + 7)).lowered, 0);
});
