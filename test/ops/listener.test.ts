// The operations listener (src/ops/listener.ts) of both halves, over real HTTP: probes and scrapes work
// without a client certificate while the main port demands one, /readyz turns 503 with its reasons when the
// half cannot do its job (no usable CA, etcd never reached), and /version says what runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { makePki } from '../../src/pki/index.js';
import type { ClientAuthConfig } from '../../src/config/types.js';
import { packageVersion } from '../../src/util/version.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { sendNumbered, waitUntil } from '../client/fixtures.js';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia } from '../../src/savant/media.js';
import {
  gateway,
  gatewayToRouter,
  nextMessage,
  post,
  request,
  serverConfig,
  sink,
  tcp,
  writerConfig,
} from '../server/fixtures.js';
import { startChain } from '../e2e/chain.js';

const clientAuth = (directory: string): ClientAuthConfig => ({
  directory,
  crlEnabled: false,
  pollIntervalMs: 100,
  crlExpiryWarningMs: 3_600_000,
});

const frame = () =>
  encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1' }),
    topic: Buffer.from('cam1'),
    data: [],
  });

const json = async (url: string) => {
  const res = await request(url);
  return { status: res.status, body: JSON.parse(res.body.toString()) as Record<string, unknown> };
};

test('mTLS server: the ops port answers probes and scrapes without a certificate, the main port does not', async (t) => {
  const pki = await makePki(await tempDir(t, 'mg-ops-'));
  const { server } = await gatewayToRouter(t, {
    tls: { certificate: pki.serverCert, key: pki.serverKey, clientAuth: clientAuth(pki.hashDir) },
    ops: { ip: '127.0.0.1', port: 0 },
  });
  const ops = server.ops!.url;
  assert.match(ops, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(await json(`${ops}/health`), { status: 200, body: { status: 'healthy' } });
  assert.deepEqual(await json(`${ops}/livez`), { status: 200, body: { status: 'live' } });
  assert.deepEqual(await json(`${ops}/readyz`), { status: 200, body: { status: 'ready' } });
  const metrics = await request(`${ops}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.body.toString(), /^media_gateway_trust_ca_certificates 1$/m);
  assert.equal((await request(`${ops}/`)).status, 404);
  assert.equal((await request(`${ops}/readyz`, { method: 'POST' })).status, 405);

  // the main port: no certificate, only the refusal (docs/errors.md); with one, /health as before and no
  // /metrics (it moved)
  const ca = await readFile(pki.caCert, 'utf8');
  const refused = await request(`${server.url}/health`, { tls: { ca } });
  assert.equal(refused.status, 401);
  assert.deepEqual(JSON.parse(refused.body.toString()), { error: 'certificate_required' });
  const withCert = {
    ca,
    cert: await readFile(pki.clientCert, 'utf8'),
    key: await readFile(pki.clientKey, 'utf8'),
  };
  assert.equal((await request(`${server.url}/health`, { tls: withCert })).status, 200);
  assert.equal((await request(`${server.url}/metrics`, { tls: withCert })).status, 404);
});

test('/version on both halves: the package version, Node.js and libzmq', async (t) => {
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server: { ops: { ip: '127.0.0.1', port: 0 } },
    client: { ops: { ip: '127.0.0.1', port: 0 } },
  });
  for (const url of [c.server.ops!.url, c.client.ops!.url, `http://127.0.0.1:${c.client.port}`]) {
    const { status, body } = await json(`${url}/version`);
    assert.equal(status, 200);
    assert.equal(body.version, packageVersion());
    assert.equal(body.node, process.versions.node);
    assert.match(String(body.libzmq), /^\d+\.\d+\.\d+$/);
  }
  // the client's status port keeps /health and gains the probes; /metrics moved to the ops port
  assert.equal((await json(`http://127.0.0.1:${c.client.port}/readyz`)).status, 200);
  assert.equal((await request(`http://127.0.0.1:${c.client.port}/metrics`)).status, 404);
  assert.equal((await request(`${c.client.ops!.url}/metrics`)).status, 200);
});

test('/readyz is 503 while the trust store holds no usable CA, and ready again once one is back', async (t) => {
  const pki = await makePki(await tempDir(t, 'mg-ops-'));
  const { server } = await gatewayToRouter(t, {
    tls: { certificate: pki.serverCert, key: pki.serverKey, clientAuth: clientAuth(pki.hashDir) },
    ops: { ip: '127.0.0.1', port: 0 },
  });
  const readyz = `${server.ops!.url}/readyz`;
  const backup = path.join(path.dirname(pki.hashDir), 'backup');
  await mkdir(backup);
  await rm(pki.hashDir, { recursive: true });
  await mkdir(pki.hashDir);
  await waitUntil(async () => (await request(readyz)).status === 503, 'readyz 503 without a CA');
  const { body } = await json(readyz);
  assert.deepEqual(body, {
    status: 'not_ready',
    reasons: ['trust store has no usable CA certificate: every client certificate is refused'],
  });
  // liveness is not readiness: a restart would not bring a CA back
  assert.equal((await request(`${server.ops!.url}/livez`)).status, 200);
  const { storeAdd } = await import('../../src/pki/index.js');
  await storeAdd(pki.hashDir, [pki.caCert]);
  await waitUntil(async () => (await request(readyz)).status === 200, 'readyz 200 with the CA back');
});

test('/readyz is 503 while etcd was never reached (users not loaded), /livez stays 200', async (t) => {
  const deadEtcd = `http://127.0.0.1:${await freePort()}`;
  const { server } = await gatewayToRouter(t, {
    auth: {
      basic: {
        etcd: {
          urls: [deadEtcd],
          path: '/users',
          dataFormat: 'json',
          leaseTimeoutMs: 1000,
          connectTimeoutMs: 200,
          cache: { size: 10 },
        },
        cache: { size: 10 },
      },
    },
    ops: { ip: '127.0.0.1', port: 0 },
  });
  const ready = await json(`${server.ops!.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(ready.body.status, 'not_ready');
  assert.match(String((ready.body.reasons as string[])[0]), /^etcd never reached: records under \/users/);
  assert.equal((await request(`${server.ops!.url}/livez`)).status, 200);
  // /health keeps the original's contract: 200, degraded with reasons
  const health = await json(`${server.ops!.url}/health`);
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'degraded');
});

test('/readyz is 503 "shutting down" while the server drains a request in flight, /livez stays 200', async (t) => {
  // a req writer waits for its sink's OK; the sink never sends it, so the request stays in flight
  const endpoint = await tcp();
  const reader = await sink(t, `rep+bind:${endpoint}`, { ack: 'on_delivery' });
  const server = await gateway(
    t,
    serverConfig(writerConfig(`req+connect:${endpoint}`, { receiveTimeoutMs: 3000 }), {
      ops: { ip: '127.0.0.1', port: 0 },
    }),
  );
  const inFlight = post(server.url, frame()).catch(() => undefined);
  await nextMessage(reader);
  const closed = server.close();
  const ready = await json(`${server.ops!.url}/readyz`);
  assert.deepEqual(ready, { status: 503, body: { status: 'not_ready', reasons: ['shutting down'] } });
  assert.equal((await request(`${server.ops!.url}/livez`)).status, 200);
  await Promise.all([inFlight, closed]);
});

test('/readyz of the client is 503 "shutting down" while it delivers what is queued', async (t) => {
  // the sink holds its OK, so the message stays queued in the client when the stop begins
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'req',
    sinkAck: 'on_delivery',
    client: { ops: { ip: '127.0.0.1', port: 0 } },
  });
  await sendNumbered(c.source, 'cam1', 1);
  await nextMessage(c.sink);
  const stopped = c.client.stop({ drainTimeoutMs: 2000 });
  const ready = await json(`${c.client.ops!.url}/readyz`);
  assert.deepEqual(ready, { status: 503, body: { status: 'not_ready', reasons: ['shutting down'] } });
  assert.equal((await request(`${c.client.ops!.url}/livez`)).status, 200);
  await stopped;
});
