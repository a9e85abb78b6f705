// What the client says about a lasting failure (src/client/refusal-monitor.ts): one line when it starts and
// when its reason changes, one "still refused" summary per interval with the attempts counted, one line when
// delivery works again; /health and media_gateway_client_refusals_total follow. The interval is driven by
// an injected clock so that a 60 s summary is tested without waiting 60 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalMonitor } from '../../src/client/refusal-monitor.js';
import type { DeliveryFailure } from '../../src/client/refusal.js';
import { clientRefusalsTotal } from '../../src/metrics/registry.js';
import { captureLog } from '../helpers/log-capture.js';
import { current } from '../metrics/prom.js';

const revoked: DeliveryFailure = {
  reason: 'certificate_revoked',
  kind: 'certificate_refused',
  detail: 'HTTP 401 {"error":"certificate_revoked"}',
};
const refused: DeliveryFailure = {
  reason: 'connection_refused',
  kind: 'transport',
  detail: 'connect ECONNREFUSED 127.0.0.1:1',
};

function clocked() {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const monitor = new RefusalMonitor({ summaryIntervalMs: 60_000, now: () => clock.now });
  return { clock, monitor };
}

test('a refusal is logged once when it starts, then summarized once per interval with its count', async (t) => {
  const log = captureLog(t);
  const { clock, monitor } = clocked();
  const counted = await current(clientRefusalsTotal, { reason: 'certificate_revoked' });
  for (let i = 0; i < 30; i++) {
    monitor.failed(revoked, 1000);
    clock.now += 1000;
  }
  const started = log.matching(/delivery refused: the server does not accept our client certificate/);
  assert.equal(started.length, 1);
  assert.match(started[0], /ERROR/);
  assert.match(started[0], /reason=certificate_revoked/);
  assert.match(started[0], /retryDelayMs=1000/);
  assert.equal(log.matching(/still refused/).length, 0, 'no summary within the first interval');

  for (let i = 0; i < 31; i++) {
    monitor.failed(revoked, 1000);
    clock.now += 1000;
  }
  const summaries = log.matching(/still refused/);
  assert.equal(summaries.length, 1);
  assert.match(summaries[0], /reason=certificate_revoked attempts=60 sinceStart=61/);
  assert.equal(await current(clientRefusalsTotal, { reason: 'certificate_revoked' }), counted + 61);
  const h = monitor.health();
  assert.equal(h.healthy, false);
  assert.match(h.reasons[0], /^delivery refused since 2026-01-01T00:00:00.000Z: reason=certificate_revoked/);
  assert.match(h.reasons[0], /61 attempts$/);
});

test('a new reason is logged at once; recovery is logged once and clears health', async (t) => {
  const log = captureLog(t);
  const { clock, monitor } = clocked();
  monitor.failed(refused, 5);
  monitor.failed(refused, 10);
  clock.now += 20;
  monitor.failed(revoked, 1000);
  assert.equal(log.matching(/delivery failing: cannot exchange requests/).length, 1);
  const changed = log.matching(/delivery refused: the server does not accept/);
  assert.equal(changed.length, 1);
  assert.match(changed[0], /previous=connection_refused/);
  assert.equal(monitor.state?.since, clock.now, 'the refusal is dated from its own start');

  clock.now += 3000;
  monitor.succeeded();
  monitor.succeeded();
  const recovered = log.matching(/delivery works again/);
  assert.equal(recovered.length, 1);
  assert.match(recovered[0], /reason=certificate_revoked attempts=1 durationMs=3000/);
  assert.deepEqual(monitor.health(), { healthy: true, reasons: [] });
});

test('transport faults are logged at WARN and are not counted as refusals', async (t) => {
  const log = captureLog(t);
  const { monitor } = clocked();
  const before = await current(clientRefusalsTotal, { reason: 'connection_refused' });
  monitor.failed(refused, 5);
  assert.match(log.matching(/delivery failing/)[0], /WARN/);
  assert.equal(await current(clientRefusalsTotal, { reason: 'connection_refused' }), before);
  assert.match(monitor.health().reasons[0], /^delivery failing since .*reason=connection_refused/);
});
