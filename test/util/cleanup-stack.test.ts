// The shared cleanup stack (src/util/cleanup-stack.ts): reverse order, failures logged without stopping the
// closes after them, one run however often close() is called.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CleanupStack } from '../../src/util/cleanup-stack.js';

test('closes run last registered first', async () => {
  const order: string[] = [];
  const s = new CleanupStack();
  for (const name of ['writer', 'auth', 'server']) s.push(() => order.push(name));
  await s.close();
  assert.deepEqual(order, ['server', 'auth', 'writer']);
});

test('pushAfter runs a close right after the one it names', async () => {
  const order: string[] = [];
  const s = new CleanupStack();
  const server = () => order.push('server');
  s.push(() => order.push('writer'));
  s.push(server);
  s.pushAfter(server, () => order.push('ops'));
  await s.close();
  assert.deepEqual(order, ['server', 'ops', 'writer']);
});

test('a failing close is reported and the closes after it still run', async () => {
  const errors: string[] = [];
  const order: string[] = [];
  const s = new CleanupStack((e) => errors.push(e.message));
  s.push(() => order.push('first'));
  s.push(async () => {
    throw new Error('boom');
  });
  await s.close();
  assert.deepEqual(errors, ['boom']);
  assert.deepEqual(order, ['first']);
});

test('close() runs the closes once', async () => {
  let runs = 0;
  const s = new CleanupStack();
  s.push(() => runs++);
  await Promise.all([s.close(), s.close()]);
  await s.close();
  assert.equal(runs, 1);
});
