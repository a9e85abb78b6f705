// Hot-path counting: increments made through slots show up in the very next scrape, exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { flushHot, hotSlot, hotSlotsBy } from '../../src/metrics/hot.js';

function counterIn(registry: Registry, name = 'hot_test_total'): Counter<'side' | 'outcome'> {
  return new Counter({
    name,
    help: 'test',
    labelNames: ['side', 'outcome'] as const,
    registers: [registry],
    collect() {
      flushHot(this);
    },
  });
}

async function value(c: Counter<'side' | 'outcome'>, outcome: string): Promise<number | undefined> {
  return (await c.get()).values.find((v) => v.labels.outcome === outcome)?.value;
}

test('slot increments reach the scrape that follows them, once, per label set', async () => {
  const registry = new Registry();
  const c = counterIn(registry);
  const read = hotSlot(c, { side: 'client', outcome: 'read' });
  assert.equal(hotSlot(c, { side: 'client', outcome: 'read' }), read, 'same labels, same slot');
  const bytes = hotSlot(c, { side: 'client', outcome: 'delivered' });
  read.add();
  read.add();
  bytes.add(1000);
  assert.equal(await value(c, 'read'), 2);
  assert.equal(await value(c, 'delivered'), 1000);
  assert.equal(await value(c, 'read'), 2, 'a second scrape does not count the same increments again');
  read.add(3);
  assert.match(await registry.metrics(), /hot_test_total\{side="client",outcome="read"\} 5/);
});

test('hotSlotsBy: one slot per value of the varying label, the fixed labels on each', async () => {
  const registry = new Registry();
  const c = counterIn(registry, 'hot_by_total');
  const byOutcome = hotSlotsBy(c, { side: 'server' }, 'outcome');
  assert.equal(byOutcome('forwarded'), byOutcome('forwarded'));
  assert.equal(byOutcome('forwarded'), hotSlot(c, { side: 'server', outcome: 'forwarded' }));
  byOutcome('forwarded').add(2);
  byOutcome('invalid').add();
  const text = await registry.metrics();
  assert.match(text, /hot_by_total\{side="server",outcome="forwarded"\} 2/);
  assert.match(text, /hot_by_total\{side="server",outcome="invalid"\} 1/);
});
