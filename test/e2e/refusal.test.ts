// "Why am I refused?" through the real CLI: `media-gateway server` and `media-gateway client` as child
// processes, mutual TLS with certificates from our own PKI, a real Savant source. A revoked client says
// once that its certificate is revoked (not `other side closed` ten times a second), retries at the maximum
// delay, reports it in /health and /metrics, and the server logs the rejection once however often the
// client retries. A client trusting another CA says that the server is not trusted. Refused Basic
// credentials (users in a real etcd) are reason auth_refused until the user exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makePki, type DemoPki } from '../../src/pki/index.js';
import { generateCrl, initCa, revokeCertificate } from '../../src/pki/index.js';
import { startCli } from '../helpers/cli.js';
import { clientJson, serverJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { sendNumbered, source, waitUntil } from '../client/fixtures.js';
import { nextMessage, request } from '../server/fixtures.js';
import { current, scrape, value } from '../metrics/prom.js';
import { Etcd3 } from 'etcd3';
import { clientRefusalsTotal } from '../../src/metrics/registry.js';
import { startEtcd } from '../helpers/etcd.js';
import { VECTORS, basicConfig } from '../helpers/basic-auth.js';
import { startChain } from './chain.js';

type T = { after(fn: () => unknown): void };

const MAX_DELAY_MS = 200;
const duration = (ms: number) => ({ secs: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });

async function startServerProcess(t: T, dir: string, pki: DemoPki) {
  const port = await freePort();
  const file = path.join(dir, 'server.json');
  await writeFile(
    file,
    serverJson(
      {
        port,
        tls: {
          identity: { certificate: pki.serverCert, key: pki.serverKey },
          peers: { lookup_hash_directory: pki.hashDir, crl_enabled: true },
        },
      },
      { url: `pub+bind:ipc://${path.join(dir, 'out')}` },
    ),
  );
  const server = startCli(t, ['server', file]);
  await server.waitForOutput(/listening on https:/);
  return { server, url: `https://127.0.0.1:${port}` };
}

async function startClientProcess(t: T, dir: string, url: string, tls: Record<string, unknown>) {
  const port = await freePort();
  const endpoint = `ipc://${path.join(dir, 'in')}`;
  const file = path.join(dir, 'client.json');
  await writeFile(
    file,
    clientJson(
      {
        port,
        url,
        tls,
        dead_letter_dir: path.join(dir, 'dead-letter'),
        retry_strategy: {
          exponential: { initial_delay: duration(1), maximum_delay: duration(MAX_DELAY_MS), multiplier: 2 },
        },
      },
      { url: `router+bind:${endpoint}` },
    ),
  );
  const client = startCli(t, ['client', file]);
  await client.waitForOutput(/listening on http:/);
  return { client, endpoint, status: `http://127.0.0.1:${port}` };
}

async function refusals(status: string, reason: string): Promise<number> {
  return value(await scrape(`${status}/metrics`), 'media_gateway_client_refusals_total', { reason });
}

const lines = (output: string, re: RegExp) => output.split('\n').filter((l) => re.test(l));

test('a revoked client says once why it is refused, backs off to the maximum delay; the server logs it once', async (t) => {
  const dir = await tempDir(t, 'mg-e2e-refusal-');
  const pki = await makePki(dir);
  await revokeCertificate(pki.caDir, pki.clientCert, 'keyCompromise');
  await generateCrl(pki.caDir, { publishTo: pki.hashDir });
  const { server, url } = await startServerProcess(t, dir, pki);
  const { client, endpoint, status } = await startClientProcess(t, dir, url, {
    root_certificate: pki.caCert,
    identity: { certificate: pki.clientCert, key: pki.clientKey },
  });

  const src = await source(t, 'dealer', endpoint);
  const sentAt = Date.now();
  await sendNumbered(src, 'cam1', 0);
  const attempts = 6;
  await waitUntil(
    async () => (await refusals(status, 'certificate_revoked')) >= attempts,
    `${attempts} refused attempts`,
    20_000,
  );
  // the first attempt follows the send, and each of the next five waits the maximum delay
  const elapsed = Date.now() - sentAt;
  assert.ok(elapsed >= (attempts - 1) * MAX_DELAY_MS, `${attempts} attempts in ${elapsed} ms`);

  const said = lines(client.output(), /delivery refused/);
  assert.equal(said.length, 1, client.output());
  assert.match(said[0], /ERROR .*the server does not accept our client certificate/);
  assert.match(said[0], /reason=certificate_revoked/);
  assert.match(said[0], new RegExp(`retryDelayMs=${MAX_DELAY_MS}\\b`));
  assert.doesNotMatch(client.output(), /other side closed|delivery failed, retrying/);

  const health = JSON.parse((await request(`${status}/health`)).body.toString()) as {
    status: string;
    reasons: string[];
  };
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons.join('\n'), /delivery refused since .*reason=certificate_revoked/);

  const rejected = lines(server.output(), /client certificate rejected/);
  assert.equal(rejected.length, 1, server.output());
  assert.match(rejected[0], /subject=CN=demo-client .*reason=revoked/);
});

test('a client trusting another CA says the server is not trusted, once', async (t) => {
  const dir = await tempDir(t, 'mg-e2e-refusal-');
  const pki = await makePki(dir);
  const other = path.join(dir, 'other-ca');
  await initCa(other, { cn: 'Some Other CA' });
  const { url } = await startServerProcess(t, dir, pki);
  const { client, endpoint, status } = await startClientProcess(t, dir, url, {
    root_certificate: path.join(other, 'ca.crt'),
    identity: { certificate: pki.clientCert, key: pki.clientKey },
  });
  const src = await source(t, 'dealer', endpoint);
  await sendNumbered(src, 'cam1', 0);
  await waitUntil(
    async () => (await refusals(status, 'server_untrusted')) >= 3,
    'three refused attempts',
    20_000,
  );

  const said = lines(client.output(), /delivery refused/);
  assert.equal(said.length, 1, client.output());
  assert.match(said[0], /the server certificate is not trusted \(tls\.root_certificate\)/);
  assert.match(said[0], /reason=server_untrusted detail="self-signed certificate in certificate chain"/);
  const health = (await request(`${status}/health`)).body.toString();
  assert.match(health, /"status":"degraded".*reason=server_untrusted/);
});

test('credentials refused: reason auth_refused in /health and the metric until the user exists, then delivered', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server: { auth: { basic: basicConfig(etcd) } },
    client: { auth: { basic: { username: 'edge', password: 'password1' } } },
  });
  const before = await current(clientRefusalsTotal, { reason: 'auth_refused' });
  await sendNumbered(c.source, 'cam1', 0);
  await waitUntil(
    async () => (await current(clientRefusalsTotal, { reason: 'auth_refused' })) >= before + 2,
    'two refused attempts',
  );
  assert.match(
    JSON.stringify(c.client.health()),
    /delivery refused since .*reason=auth_refused \(HTTP 401\)/,
  );
  assert.equal(c.client.stats().delivered, 0);

  await kv.put('/users/edge').value(JSON.stringify({ password_hash: VECTORS.password1 }));
  const got = await nextMessage(c.sink);
  assert.equal(got.data[0].toString(), '0');
  await waitUntil(() => c.client.stats().delivered === 1, 'delivered');
  assert.deepEqual(c.client.health(), { status: 'healthy' });
});
