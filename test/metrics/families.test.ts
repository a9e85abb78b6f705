// Every /metrics family moves when its event happens, read the way Prometheus reads it: GET /metrics over
// real HTTP (server main port, client port, or the separate metrics listener) parsed from the text format.
// The registry is process-global (server, client, sources and sinks of this process all count into it),
// so each assertion compares a scrape before the event with one after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { rename } from 'node:fs/promises';
import * as zmq from 'zeromq';
import { Etcd3 } from 'etcd3';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia } from '../../src/savant/media.js';
import { makePki } from '../../src/pki/index.js';
import { initCa, issueCertificate, generateCrl, storeAdd } from '../../src/pki/index.js';
import type { BasicAuthServerConfig } from '../../src/config/types.js';
import { messagesTotal, trustReloadsTotal } from '../../src/metrics/registry.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { startEtcd } from '../helpers/etcd.js';
import { clientSetup, runClient, sendNumbered, source, waitUntil } from '../client/fixtures.js';
import {
  gateway,
  nextMessage,
  post,
  request,
  serverConfig,
  writerConfig,
  PROTOBUF,
} from '../server/fixtures.js';
import { startChain } from '../e2e/chain.js';
import { current, delta, scrape, value, type Samples } from './prom.js';

const M = 'media_gateway_';
const enc = (s: string) => Buffer.from(s);

function frameMedia(topic: Uint8Array, labels: string[] = []): Uint8Array {
  return encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1', routingLabels: labels }),
    topic,
    data: [],
  });
}

test('scrape: text format with HELP/TYPE for every family of a plain server and client, on both ports', async (t) => {
  const c = await startChain(t, { source: 'dealer', sink: 'dealer' });
  for (const url of [`${c.server.url}/metrics`, `http://127.0.0.1:${c.client.port}/metrics`]) {
    const text = (await request(url)).body.toString();
    for (const family of [
      'messages_total',
      'bytes_total',
      'http_responses_total',
      'request_duration_seconds',
      'client_queue_depth',
      'client_retries_total',
      'dead_lettered_total',
      'zmq_send_results_total',
      'zmq_read_results_total',
      'client_transport_errors_total',
      'build_info',
    ]) {
      assert.match(text, new RegExp(`^# HELP ${M}${family} `, 'm'), `${url}: ${family}`);
      assert.match(text, new RegExp(`^# TYPE ${M}${family} `, 'm'), `${url}: ${family}`);
    }
  }
});

test('delivery: messages and bytes by outcome, HTTP 200s, request durations, queue depth, ZeroMQ send results', async (t) => {
  // the sink holds its OK, so the server's req writer waits and the client's queue fills up
  const c = await startChain(t, { source: 'dealer', sink: 'req', sinkAck: 'on_delivery' });
  // scraped on the client's port: a scrape of the server's own port would count its own 200
  const clientMetrics = `http://127.0.0.1:${c.client.port}/metrics`;
  const before = await scrape(clientMetrics);

  const extras = [enc('x'.repeat(100)), enc('y'.repeat(23))];
  const messages = [0, 1, 2].map((i) =>
    Buffer.from(buildMessage({ content: 'video_frame', sourceId: `cam${i}` })),
  );
  const bytes = messages.reduce((n, m) => n + m.length + 123, 0);
  for (const m of messages) await c.source.send(enc('cam'), m, extras, false);
  const first = await nextMessage(c.sink);
  await waitUntil(() => c.client.stats().read === 3, 'three messages read');
  const held = await scrape(clientMetrics);
  assert.equal(value(held, `${M}client_queue_depth`), 3, 'queue depth while the sink holds the first');

  await first.ack();
  for (let i = 1; i < 3; i++) await (await nextMessage(c.sink)).ack();
  await waitUntil(() => c.client.stats().delivered === 3, 'three delivered');
  const after = await scrape(clientMetrics);
  const d = (name: string, labels: Record<string, string> = {}) => delta(before, after, M + name, labels);

  assert.equal(value(after, `${M}client_queue_depth`), 0);
  assert.equal(d('messages_total', { side: 'client', outcome: 'read' }), 3);
  assert.equal(d('messages_total', { side: 'client', outcome: 'delivered' }), 3);
  assert.equal(d('messages_total', { side: 'server', outcome: 'forwarded' }), 3);
  assert.equal(d('bytes_total', { side: 'client', outcome: 'read' }), bytes);
  assert.equal(d('bytes_total', { side: 'client', outcome: 'delivered' }), bytes);
  assert.equal(d('bytes_total', { side: 'server', outcome: 'forwarded' }), bytes);
  assert.equal(d('http_responses_total', { side: 'server', status: '200' }), 3);
  assert.equal(d('http_responses_total', { side: 'client', status: '200' }), 3);
  assert.equal(d('request_duration_seconds_count', { side: 'server' }), 3);
  assert.equal(d('request_duration_seconds_count', { side: 'client' }), 3);
  assert.ok(d('request_duration_seconds_sum', { side: 'server' }) > 0);
  // the source (a dealer) counts 3 successes; the server's req writer 3 acks
  assert.equal(d('zmq_send_results_total', { result: 'success' }), 3);
  assert.equal(d('zmq_send_results_total', { result: 'ack' }), 3);
  assert.equal(d('zmq_read_results_total', { result: 'message' }), 6, 'client reader and sink reader');
});

test('server failures: 400 invalid, 404, 504 send_timeout, 502 ack_timeout, by status, outcome and ZeroMQ result', async (t) => {
  const dir = await tempDir(t, 'mg-metrics-');
  const noPeer = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:ipc://${path.join(dir, 'nobody')}`, { sendTimeoutMs: 50 })),
  );
  const silentEp = `ipc://${path.join(dir, 'silent')}`;
  const silent = new zmq.Reply({ linger: 0 }); // raw: takes the message, never answers
  t.after(() => silent.close());
  await silent.bind(silentEp);
  const noAck = await gateway(
    t,
    serverConfig(writerConfig(`req+connect:${silentEp}`, { receiveTimeoutMs: 50 })),
  );

  const before = await scrape(`${noPeer.url}/metrics`);
  assert.equal((await post(noPeer.url, enc('not protobuf at all'))).status, 400);
  assert.equal((await post(noPeer.url, frameMedia(Buffer.from([0xff, 0xfe])))).status, 400);
  assert.equal((await request(`${noPeer.url}/nope`)).status, 404);
  assert.equal((await post(noPeer.url, frameMedia(enc('cam1')))).status, 504);
  assert.equal((await post(noAck.url, frameMedia(enc('cam1')))).status, 502);
  const after = await scrape(`${noAck.url}/metrics`);
  const d = (name: string, labels: Record<string, string>) => delta(before, after, M + name, labels);

  assert.equal(d('http_responses_total', { side: 'server', status: '400' }), 2);
  assert.equal(d('http_responses_total', { side: 'server', status: '404' }), 1);
  assert.equal(d('http_responses_total', { side: 'server', status: '504' }), 1);
  assert.equal(d('http_responses_total', { side: 'server', status: '502' }), 1);
  assert.equal(d('messages_total', { side: 'server', outcome: 'invalid' }), 2);
  assert.ok(
    d('bytes_total', { side: 'server', outcome: 'invalid' }) > 0,
    'bytes of a decodable invalid message',
  );
  assert.equal(d('messages_total', { side: 'server', outcome: 'send_timeout' }), 1);
  assert.equal(d('messages_total', { side: 'server', outcome: 'ack_timeout' }), 1);
  assert.equal(d('zmq_send_results_total', { result: 'send_timeout' }), 1);
  assert.equal(d('zmq_send_results_total', { result: 'ack_timeout' }), 1);
  // every POST is timed, whatever its status; the 404 GET is not a POST
  assert.equal(d('request_duration_seconds_count', { side: 'server' }), 4);
});

test('client failures: retries by reason, dead-lettered by status, dropped reads', async (t) => {
  const dir = await tempDir(t, 'mg-metrics-');
  // a server whose writer has no peer: every POST gets 504, the client retries
  const noPeer = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:ipc://${path.join(dir, 'nobody')}`, { sendTimeoutMs: 20 })),
  );
  const retrying = await clientSetup(t, noPeer.url, { readerType: 'router' });
  const client1 = await runClient(t, retrying.cfg);
  const metricsUrl = `http://127.0.0.1:${client1.port}/metrics`;
  const before = await scrape(metricsUrl);
  await sendNumbered(await source(t, 'dealer', retrying.endpoint), 'cam1', 0);
  await waitUntil(() => client1.stats().retries >= 2, 'two retries');
  // (the queue-depth gauge is one per process: read it before a second client starts)
  assert.equal(value(await scrape(metricsUrl), `${M}client_queue_depth`), 1, 'the retried message is queued');

  // a working chain: a topic that is not UTF-8 is refused with 400 by the server and dead-lettered
  const c = await startChain(t, { source: 'dealer', sink: 'dealer' });
  await c.source.send(Buffer.from([0xff, 0xfe]), buildMessage({ content: 'video_frame' }), [], false);
  await waitUntil(() => c.client.stats().deadLettered === 1, 'dead-lettered');
  // a raw source sending a one-frame message: read, not a message, dropped
  const raw = new zmq.Dealer({ linger: 0 });
  t.after(() => raw.close());
  raw.connect(c.sourceEndpoint);
  const dropped = await current(messagesTotal, { side: 'client', outcome: 'dropped' });
  await raw.send([enc('only-a-topic')]);
  await waitUntil(
    async () => (await current(messagesTotal, { side: 'client', outcome: 'dropped' })) > dropped,
    'dropped',
  );

  const after = await scrape(metricsUrl);
  const d = (name: string, labels: Record<string, string>) => delta(before, after, M + name, labels);
  assert.ok(d('client_retries_total', { reason: '504' }) >= 2);
  assert.ok(d('http_responses_total', { side: 'client', status: '504' }) >= 2);
  assert.equal(d('dead_lettered_total', { status: '400' }), 1);
  assert.equal(d('messages_total', { side: 'client', outcome: 'dead_lettered' }), 1);
  assert.equal(d('messages_total', { side: 'client', outcome: 'dropped' }), 1);
  assert.equal(d('zmq_read_results_total', { result: 'too_short' }), 1);
});

test('client transport errors are retries with reason "transport" and transport errors by code, not HTTP statuses', async (t) => {
  const port = await freePort(); // nothing listens there
  const s = await clientSetup(t, `http://127.0.0.1:${port}`);
  const client = await runClient(t, s.cfg);
  const metricsUrl = `http://127.0.0.1:${client.port}/metrics`;
  const before = await scrape(metricsUrl);
  await sendNumbered(await source(t, 'dealer', s.endpoint), 'cam1', 0);
  await waitUntil(() => client.stats().retries >= 2, 'two retries');
  const after = await scrape(metricsUrl);
  assert.ok(delta(before, after, `${M}client_retries_total`, { reason: 'transport' }) >= 2);
  assert.ok(delta(before, after, `${M}client_transport_errors_total`, { code: 'ECONNREFUSED' }) >= 2);
  for (const key of after.keys())
    if (key.startsWith(`${M}http_responses_total{`)) assert.match(key, /status="\d{3}"/);
});

test('TLS and trust store: rejections by reason, CA/CRL counts, next CRL update, reloads, last good reload', async (t) => {
  const dir = await tempDir(t, 'mg-metrics-tls-');
  const pki = await makePki(dir);
  const metricsPort = await freePort();
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server: {
      tls: {
        certificate: pki.serverCert,
        key: pki.serverKey,
        clientAuth: {
          directory: pki.hashDir,
          crlEnabled: true,
          pollIntervalMs: 1000,
          crlExpiryWarningMs: 3_600_000,
        },
      },
      ops: { ip: '127.0.0.1', port: metricsPort },
    },
    client: {
      tls: { rootCertificate: pki.caCert, identity: { certificate: pki.clientCert, key: pki.clientKey } },
    },
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  let s: Samples = await scrape(metricsUrl);
  assert.equal(value(s, `${M}trust_ca_certificates`), 1);
  assert.equal(value(s, `${M}trust_crls`), 1);
  const thirtyDays = 30 * 86_400;
  const next = value(s, `${M}trust_crl_next_update_seconds`);
  assert.ok(next > thirtyDays - 60 && next <= thirtyDays, `next CRL update in ${next} s`);

  // refused handshakes by reason: no certificate, and a certificate from a CA the directory does not hold
  const before = s;
  const rogueCa = path.join(dir, 'rogue');
  await initCa(rogueCa, { cn: 'Rogue CA' });
  const rogue = await issueCertificate(rogueCa, 'client', 'rogue');
  const { readFile } = await import('node:fs/promises');
  const ca = await readFile(pki.caCert, 'utf8');
  const refused = (tls: { ca: string; cert?: string; key?: string }) =>
    request(`${c.server.url}/health`, { tls }).then(
      (r) => r.status,
      () => 'closed',
    );
  assert.notEqual(await refused({ ca }), 200);
  assert.notEqual(
    await refused({
      ca,
      cert: await readFile(rogue.certPath, 'utf8'),
      key: await readFile(rogue.keyPath, 'utf8'),
    }),
    200,
  );
  s = await scrape(metricsUrl);
  assert.equal(delta(before, s, `${M}tls_rejections_total`, { reason: 'no_certificate' }), 1);
  assert.equal(delta(before, s, `${M}tls_rejections_total`, { reason: 'unknown_ca' }), 1);

  // a second CA with a CRL valid for one day: counts, earliest next update and a successful reload
  const reloadStart = Date.now() / 1000;
  const successes = await current(trustReloadsTotal, { result: 'success' });
  const ca2 = path.join(dir, 'ca2');
  await initCa(ca2, { cn: 'Second CA' });
  await storeAdd(pki.hashDir, [path.join(ca2, 'ca.crt')]);
  await generateCrl(ca2, { publishTo: pki.hashDir, days: 1 });
  await waitUntil(async () => {
    const now = await scrape(metricsUrl);
    return value(now, `${M}trust_ca_certificates`) === 2 && value(now, `${M}trust_crls`) === 2;
  }, 'the second CA and its CRL in force');
  s = await scrape(metricsUrl);
  assert.ok(value(s, `${M}trust_reloads_total`, { result: 'success' }) > successes);
  const day = value(s, `${M}trust_crl_next_update_seconds`);
  assert.ok(day > 86_400 - 60 && day <= 86_400, `next CRL update in ${day} s`);
  assert.ok(value(s, `${M}trust_last_good_reload_timestamp_seconds`) >= Math.floor(reloadStart));

  // the directory vanishes: reloads fail, the last good snapshot (and its time) stays
  const lastGood = value(s, `${M}trust_last_good_reload_timestamp_seconds`);
  const failures = await current(trustReloadsTotal, { result: 'failure' });
  await rename(pki.hashDir, `${pki.hashDir}.gone`);
  await waitUntil(
    async () => (await current(trustReloadsTotal, { result: 'failure' })) > failures,
    'a failed reload',
  );
  s = await scrape(metricsUrl);
  assert.equal(value(s, `${M}trust_last_good_reload_timestamp_seconds`), lastGood);
  assert.equal(value(s, `${M}trust_ca_certificates`), 2);
  assert.equal(c.server.health().status, 'degraded');
});

test('auth: outcomes by method and result, quarantined users, etcd connection state', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  // Argon2i of "password1" (compat/original-argon2-hashes.md)
  const hash =
    '$argon2i$v=19$m=12,t=3,p=1$YXkzZmx1eTFwVW5hZ0R2S1dXazA$VxVMw2Omh1CeVqry8Cay+4OZ69OGvn4fma2M5rURZhI';
  await kv
    .put('/users/user1')
    .value(JSON.stringify({ password_hash: hash, allowed_routing_labels: { set: 'cam' } }));
  const basic: BasicAuthServerConfig = {
    etcd: {
      urls: [etcd.url],
      path: '/users',
      dataFormat: 'json',
      leaseTimeoutMs: 60_000,
      connectTimeoutMs: 2000,
      cache: { size: 10 },
    },
    cache: { size: 100 },
    quarantine: { periodMs: 60_000, failedAttemptLimit: 2 },
  };
  const c = await startChain(t, { source: 'dealer', sink: 'dealer', server: { auth: { basic } } });
  const metricsUrl = `${c.server.url}/metrics`;
  let s = await scrape(metricsUrl);
  assert.equal(value(s, `${M}etcd_connected`), 1);
  const before = s;

  const header = (user: string, password: string) => ({
    ...PROTOBUF,
    Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
  });
  const got = nextMessage(c.sink);
  assert.equal(
    (await post(c.server.url, frameMedia(enc('cam1'), ['cam']), header('user1', 'password1'))).status,
    200,
  );
  await got;
  assert.equal(
    (await post(c.server.url, frameMedia(enc('cam1'), ['other']), header('user1', 'password1'))).status,
    401,
  );
  assert.equal((await post(c.server.url, frameMedia(enc('cam1')))).status, 401);
  assert.equal((await post(c.server.url, frameMedia(enc('cam1')), header('nobody', 'x'))).status, 401);
  assert.equal((await post(c.server.url, frameMedia(enc('cam1')), header('user1', 'guess1'))).status, 401);
  assert.equal((await post(c.server.url, frameMedia(enc('cam1')), header('user1', 'guess2'))).status, 401);
  // the limit (2) is reached: even the right password is refused now
  assert.equal(
    (await post(c.server.url, frameMedia(enc('cam1'), ['cam']), header('user1', 'password1'))).status,
    401,
  );
  s = await scrape(metricsUrl);
  const d = (labels: Record<string, string>) => delta(before, s, `${M}auth_outcomes_total`, labels);
  assert.equal(d({ method: 'basic', result: 'ok' }), 2);
  assert.equal(d({ method: 'labels', result: 'allowed' }), 1);
  assert.equal(d({ method: 'labels', result: 'denied' }), 1);
  assert.equal(d({ method: 'basic', result: 'missing_header' }), 1);
  // unknown user and wrong password look the same to an unauthenticated scraper
  assert.equal(d({ method: 'basic', result: 'bad_credentials' }), 3);
  assert.equal(d({ method: 'basic', result: 'unknown_user' }), 0);
  assert.equal(d({ method: 'basic', result: 'quarantined' }), 1);
  assert.equal(value(s, `${M}auth_quarantined`), 1, 'user1 from 127.0.0.1 (nobody is below the limit)');
  assert.equal(delta(before, s, `${M}messages_total`, { side: 'server', outcome: 'unauthorized' }), 1);

  // etcd goes away and comes back
  await etcd.stop();
  await waitUntil(
    async () => value(await scrape(metricsUrl), `${M}etcd_connected`) === 0,
    'etcd disconnected',
    20_000,
  );
  await etcd.start();
  await waitUntil(
    async () => value(await scrape(metricsUrl), `${M}etcd_connected`) === 1,
    'etcd reconnected',
    20_000,
  );
});
