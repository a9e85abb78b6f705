// Both halves' metrics as Prometheus itself takes them. The server runs with mutual TLS and the client
// presents its certificate (test/ops/halves.ts, both as child processes of the real CLI); everything is
// read through the operations ports: `promtool check metrics` accepts both expositions with no warning,
// each half exports only the families that apply to it, and a real `prometheus` server scraping both ports
// answers queries for the series the traffic moved (messages, bytes, TLS rejections by reason, trust store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { sendNumbered } from '../client/fixtures.js';
import { nextMessage, request } from '../server/fixtures.js';
import { promtool, startPrometheus, type PromSample } from '../helpers/prometheus.js';
import { startHalves } from './halves.js';

const M = 'media_gateway_';

async function exposition(ops: string): Promise<string> {
  const res = await request(`http://${ops}/metrics`);
  assert.equal(res.status, 200);
  return res.body.toString();
}

const familiesOf = (text: string) =>
  new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]).filter((n) => n.startsWith(M)));

test('promtool check metrics accepts both halves with no warning; each half exports only its families', async (t) => {
  const h = await startHalves(t);
  await sendNumbered(h.source, 'cam1', 1);
  await nextMessage(h.sink);
  const server = await exposition(h.serverOps);
  const client = await exposition(h.clientOps);
  for (const [half, text] of [
    ['server', server],
    ['client', client],
  ]) {
    const r = await promtool(['check', 'metrics'], text);
    assert.equal(r.code, 0, `${half}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout + r.stderr, '', `${half}: promtool printed warnings`);
    // stock Node.js dashboards' names, not media_gateway_process_process_*
    assert.match(text, /^process_cpu_seconds_total /m, half);
    assert.match(text, /^nodejs_heap_size_used_bytes /m, half);
    assert.doesNotMatch(text, /media_gateway_process_/, half);
    assert.match(text, /^media_gateway_build_info\{version="[^"]+",node="[^"]+",libzmq="[^"]+"\} 1$/m, half);
  }
  const s = familiesOf(server);
  const c = familiesOf(client);
  // the mTLS server: trust store and TLS families; no etcd (no auth configured), nothing of the client's
  for (const f of [
    'trust_ca_certificates',
    'trust_crl_next_update_seconds',
    'tls_rejections_total',
    'zmq_send_results_total',
  ])
    assert.ok(s.has(M + f), `server lacks ${f}`);
  for (const f of [
    'etcd_connected',
    'auth_outcomes_total',
    'auth_quarantined',
    'client_queue_depth',
    'zmq_read_results_total',
  ])
    assert.ok(!s.has(M + f), `server exports ${f}`);
  // the client has no trust store, no etcd, no TLS listener, no ZeroMQ writer
  for (const f of [
    'client_queue_depth',
    'client_retries_total',
    'client_transport_errors_total',
    'zmq_read_results_total',
  ])
    assert.ok(c.has(M + f), `client lacks ${f}`);
  for (const name of c)
    assert.doesNotMatch(name, /_(trust|tls|etcd|auth)_|zmq_send/, `client exports ${name}`);
});

test('a real Prometheus scrapes the mTLS server and the client through their ops ports', async (t) => {
  const h = await startHalves(t);
  const prom = await startPrometheus(t, { server: h.serverOps, client: h.clientOps });
  const sent = 5;
  for (let i = 0; i < sent; i++) {
    await sendNumbered(h.source, 'cam1', i);
    await nextMessage(h.sink);
  }
  // a client without a certificate is refused on the main port
  const ca = await readFile(h.pki.caCert, 'utf8');
  assert.equal((await request(`${h.serverUrl}/health`, { tls: { ca } })).status, 401);

  const atLeast = (n: number) => (s: PromSample[]) => s.length === 1 && s[0].value >= n;
  await prom.waitFor('count(up == 1)', (s) => s.length === 1 && s[0].value === 2);
  await prom.waitFor(`${M}messages_total{job="client",side="client",outcome="delivered"}`, atLeast(sent));
  await prom.waitFor(`${M}messages_total{job="server",side="server",outcome="forwarded"}`, atLeast(sent));
  await prom.waitFor(`${M}bytes_total{job="server",side="server",outcome="forwarded"}`, atLeast(sent));
  await prom.waitFor(`${M}http_responses_total{job="client",side="client",status="200"}`, atLeast(sent));
  await prom.waitFor(`${M}tls_rejections_total{job="server",reason="no_certificate"}`, atLeast(1));
  await prom.waitFor(`${M}trust_ca_certificates{job="server"}`, (s) => s.length === 1 && s[0].value === 1);
  await prom.waitFor(`${M}trust_crls{job="server"}`, (s) => s.length === 1 && s[0].value === 1);
  await prom.waitFor(`${M}trust_crl_next_update_seconds{job="server"}`, atLeast(86_400));
  const info = await prom.waitFor(`${M}build_info`, (s) => s.length === 2);
  assert.deepEqual(info.map((s) => s.metric.job).sort(), ['client', 'server']);
  // the families that do not apply are absent, not 0
  assert.deepEqual(await prom.query(`${M}trust_ca_certificates{job="client"}`), []);
  assert.deepEqual(await prom.query(`${M}etcd_connected`), []);
});
