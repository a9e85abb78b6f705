// Client certificates through the real gateway server and client: a certificate issued by
// our PKI is accepted; revoking it and publishing the CRL into the hash directory, with no restart, cuts
// the running client off on its open keep-alive connection through the live reload and refuses its new handshakes.
// The seed's openssl recipe (certificates from the openssl CLI, the `ssl` config form, the new CRL as
// `hash.r1`) does the same. Server-only TLS works with just a root certificate on the client, and a client
// that does not trust the server's CA never delivers (it retries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { makePki } from '../../src/pki/index.js';
import { initCa, revokeCertificate, generateCrl } from '../../src/pki/index.js';
import { parseServerConfig } from '../../src/config/server.js';
import { parseClientConfig } from '../../src/config/client.js';
import type { ClientAuthConfig, ClientConfig } from '../../src/config/types.js';
import {
  clientRetriesTotal,
  liveConnectionsClosedTotal,
  tlsRejectionsTotal,
  trustCas,
} from '../../src/metrics/registry.js';
import { buildLabPki } from '../helpers/openssl-pki.js';
import { tempDir } from '../helpers/tmp.js';
import { sendNumbered, waitUntil } from '../client/fixtures.js';
import { nextMessage } from '../server/fixtures.js';
import { current, delta, scrape, total } from '../metrics/prom.js';
import { startChain, type Chain } from './chain.js';

const clientAuth = (directory: string): ClientAuthConfig => ({
  directory,
  crlEnabled: true,
  pollIntervalMs: 1000,
  crlExpiryWarningMs: 3_600_000,
});

/** A receive on the sink that the test only looks at (the sink is not read again afterwards). */
function pendingReceive(c: Chain): { settled: () => boolean } {
  let settled = false;
  void c.sink.receive().then(() => (settled = true));
  return { settled: () => settled };
}

/** Delivers one numbered message end to end and returns it as the sink read it. */
async function deliver(c: Chain, seq: number) {
  const before = c.client.stats().delivered;
  await sendNumbered(c.source, 'cam1', seq);
  const got = await nextMessage(c.sink);
  assert.equal(got.data[0].toString(), String(seq));
  await waitUntil(() => c.client.stats().delivered === before + 1, `delivery ${seq}`);
}

/**
 * Wall-clock bound on the cut-off after publication. The 1 s target (a file event, or the 1 s poll) is a
 * figure the stress suite measures (test/stress: revocationMs, with the load it ran under); a timed test
 * on a busy 2-core CI machine cannot hold it (it missed 1 s once in three runs there). 10 s still fails
 * a gateway that only noticed the CRL at its 30 s full rescan (src/trust/reload-scheduler.ts).
 */
const CUT_OFF_BOUND_MS = 10_000;

/**
 * After a revocation was published at `publishedAt`: the open connection must be closed by the live
 * reload (well before the 30 s full rescan), a new message is never delivered, and the client keeps
 * retrying against refused handshakes.
 */
async function assertCutOff(
  c: Chain,
  publishedAt: number,
  before: { closed: number; rejected: number; retries: number },
  metricsUrl: string,
  scrapeBefore: Awaited<ReturnType<typeof scrape>>,
) {
  await waitUntil(
    async () => (await current(liveConnectionsClosedTotal, { reason: 'revoked' })) > before.closed,
    'the open keep-alive connection to be closed',
    CUT_OFF_BOUND_MS - (Date.now() - publishedAt),
  );
  const closedAfterMs = Date.now() - publishedAt;
  assert.ok(closedAfterMs <= CUT_OFF_BOUND_MS, `closed ${closedAfterMs} ms after the CRL was published`);

  const delivered = c.client.stats().delivered;
  const look = pendingReceive(c);
  await sendNumbered(c.source, 'cam1', 999);
  await waitUntil(
    async () =>
      (await current(tlsRejectionsTotal, { reason: 'revoked' })) > before.rejected &&
      c.client.stats().retries >= before.retries + 2,
    'new handshakes refused as revoked, and retried',
  );
  assert.equal(look.settled(), false, 'the sink received a message after the revocation');
  assert.equal(c.client.stats().delivered, delivered);
  // the server answers the new connection's request with why it refuses the certificate
  assert.match(JSON.stringify(c.client.health()), /delivery refused since .*reason=certificate_revoked/);

  const after = await scrape(metricsUrl);
  assert.ok(delta(scrapeBefore, after, 'media_gateway_tls_rejections_total', { reason: 'revoked' }) >= 1);
  assert.ok(
    delta(scrapeBefore, after, 'media_gateway_tls_live_connections_closed_total', { reason: 'revoked' }) >= 1,
  );
  assert.ok(delta(scrapeBefore, after, 'media_gateway_client_retries_total', { reason: '401' }) >= 2);
  assert.ok(
    delta(scrapeBefore, after, 'media_gateway_client_refusals_total', { reason: 'certificate_revoked' }) >= 2,
  );
}

/** dealer source → client → mutual TLS (PKI from our own code) → server → dealer sink */
async function mutualTlsChain(t: { after(fn: () => unknown): void }) {
  const pki = await makePki(await tempDir(t, 'mg-e2e-pki-'));
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server: {
      tls: { certificate: pki.serverCert, key: pki.serverKey, clientAuth: clientAuth(pki.hashDir) },
    },
    client: {
      tls: { rootCertificate: pki.caCert, identity: { certificate: pki.clientCert, key: pki.clientKey } },
    },
  });
  return { pki, c };
}

async function counters(c: Chain) {
  return {
    closed: await current(liveConnectionsClosedTotal, { reason: 'revoked' }),
    rejected: await current(tlsRejectionsTotal, { reason: 'revoked' }),
    retries: c.client.stats().retries,
  };
}

test('our PKI: the issued client certificate is accepted; revoked + CRL published → cut off by the live reload, no restart', async (t) => {
  const { pki, c } = await mutualTlsChain(t);
  assert.match(c.server.url, /^https:/);
  for (let seq = 0; seq < 3; seq++) await deliver(c, seq);
  assert.equal(c.client.stats().retries, 0);

  const metricsUrl = `http://127.0.0.1:${c.client.port}/metrics`;
  const scrapeBefore = await scrape(metricsUrl);
  const before = await counters(c);
  await revokeCertificate(pki.caDir, pki.clientCert, 'keyCompromise');
  const { publishedPath } = await generateCrl(pki.caDir, { publishTo: pki.hashDir });
  const publishedAt = Date.now();
  assert.ok(publishedPath, 'the CRL was published into the hash directory');
  await assertCutOff(c, publishedAt, before, metricsUrl, scrapeBefore);
  assert.equal(c.server.health().status, 'healthy', 'a revocation is not a server problem');
});

test("the seed's openssl recipe: ssl config form, hash.0 + hash.r0, then the revoking CRL as hash.r1", async (t) => {
  const dir = await tempDir(t, 'mg-e2e-seed-');
  const lab = buildLabPki(path.join(dir, 'lab'));
  const store = path.join(dir, 'store');
  await mkdir(store);
  // CA_HASH=$(openssl x509 -in ca.crt -subject_hash -noout); cp ca.crt "$CA_HASH.0"
  const caHash = lab.openssl(['x509', '-in', lab.root.certFile, '-subject_hash', '-noout']).trim();
  await copyFile(lab.root.certFile, path.join(store, `${caHash}.0`));
  // CRL_HASH=$(openssl crl -in ca.crl -hash -noout); cp ca.crl "$CRL_HASH.r0"
  const crl0 = path.join(dir, 'ca-0.crl');
  await writeFile(crl0, lab.crl(lab.root));
  const crlHash = lab.openssl(['crl', '-in', crl0, '-hash', '-noout']).trim();
  await copyFile(crl0, path.join(store, `${crlHash}.r0`));

  const serverJson = JSON.stringify({
    ip: '127.0.0.1',
    port: 0,
    out_stream: {
      url: 'dealer+connect:ipc:///placeholder',
      send_timeout: { secs: 1, nanos: 0 },
      send_retries: 3,
      receive_timeout: { secs: 1, nanos: 0 },
      receive_retries: 3,
      send_hwm: 1000,
      receive_hwm: 1000,
    },
    ssl: {
      server: { certificate: lab.server.certFile, certificate_key: lab.server.keyFile },
      client: { certificate_directory: store },
    },
  });
  const { outStream: _unused, ...server } = parseServerConfig(serverJson).config;
  assert.deepEqual(server.tls?.clientAuth?.directory, store);
  assert.equal(server.tls?.clientAuth?.crlEnabled, true, 'the ssl form checks CRLs by default');

  const client = lab.clients.rootIssued;
  const clientJson = JSON.stringify({
    ip: '127.0.0.1',
    port: 0,
    url: 'https://127.0.0.1:1',
    in_stream: {
      url: 'router+bind:ipc:///placeholder',
      receive_timeout: { secs: 1, nanos: 0 },
      receive_hwm: 1000,
      topic_prefix_spec: { none: null },
      source_cache_size: 100,
      inflight_ops: 100,
    },
    ssl: {
      server: { certificate: lab.server.certFile },
      client: { certificate: client.certFile, certificate_key: client.keyFile },
    },
  });
  const parsedClient: ClientConfig = parseClientConfig(clientJson).config;

  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server,
    client: { tls: parsedClient.tls },
  });
  for (let seq = 0; seq < 2; seq++) await deliver(c, seq);

  const metricsUrl = `http://127.0.0.1:${c.client.port}/metrics`;
  const scrapeBefore = await scrape(metricsUrl);
  const before = await counters(c);
  // openssl ca -revoke client.crt; openssl ca -gencrl -out crl/ca.crl; cp crl/ca.crl "$CRL_HASH.r1"
  const crl1 = path.join(dir, 'ca-1.crl');
  await writeFile(crl1, lab.crl(lab.root, { revoke: ['rootIssued'] }));
  await copyFile(crl1, path.join(store, `${crlHash}.r1`));
  const publishedAt = Date.now();
  await assertCutOff(c, publishedAt, before, metricsUrl, scrapeBefore);
});

test('server TLS without client authentication: a client with only a root certificate delivers', async (t) => {
  const pki = await makePki(await tempDir(t, 'mg-e2e-pki-'));
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server: { tls: { certificate: pki.serverCert, key: pki.serverKey } },
    client: { tls: { rootCertificate: pki.caCert } },
  });
  assert.match(c.server.url, /^https:/);
  for (let seq = 0; seq < 3; seq++) await deliver(c, seq);
  assert.equal(c.client.stats().retries, 0);
});

test('a client trusting another CA never delivers: it retries, and says so', async (t) => {
  const dir = await tempDir(t, 'mg-e2e-pki-');
  const pki = await makePki(dir);
  const other = path.join(dir, 'other-ca');
  await initCa(other, { cn: 'Some Other CA' });
  const c = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    server: {
      tls: { certificate: pki.serverCert, key: pki.serverKey, clientAuth: clientAuth(pki.hashDir) },
    },
    client: {
      tls: {
        rootCertificate: path.join(other, 'ca.crt'),
        identity: { certificate: pki.clientCert, key: pki.clientKey },
      },
    },
  });
  const metricsUrl = `http://127.0.0.1:${c.client.port}/metrics`;
  const scrapeBefore = await scrape(metricsUrl);
  const retriesBefore = await current(clientRetriesTotal, { reason: 'transport' });
  const look = pendingReceive(c);
  await sendNumbered(c.source, 'cam1', 0);
  await waitUntil(
    async () =>
      c.client.stats().retries >= 3 &&
      (await current(clientRetriesTotal, { reason: 'transport' })) >= retriesBefore + 3,
    'three retries',
  );
  assert.equal(c.client.stats().delivered, 0);
  assert.equal(c.client.stats().read, 1);
  assert.equal(look.settled(), false, 'the sink received a message from an unverified server connection');
  assert.match(JSON.stringify(c.client.health()), /delivery refused since .*reason=server_untrusted/);
  const after = await scrape(metricsUrl);
  assert.ok(delta(scrapeBefore, after, 'media_gateway_client_retries_total', { reason: 'transport' }) >= 3);
  assert.ok(
    delta(scrapeBefore, after, 'media_gateway_client_refusals_total', { reason: 'server_untrusted' }) >= 3,
  );
  assert.equal(
    delta(scrapeBefore, after, 'media_gateway_messages_total', { side: 'client', outcome: 'delivered' }),
    0,
  );
  assert.equal(after.get('media_gateway_client_queue_depth'), 1);
});

test('a FIFO dropped into the trust directory neither stalls reloads nor drops trust', async (t) => {
  // A FIFO used to be opened like a file: the scan blocked on it forever, so no later CRL was ever
  // loaded. It is now a stray file. (The race of a directory vanishing mid-scan is covered
  // deterministically in test/trust/scan.test.ts.)
  const { pki, c } = await mutualTlsChain(t);
  await deliver(c, 0);
  const closedBefore = await total(liveConnectionsClosedTotal);
  execFileSync('mkfifo', [path.join(pki.hashDir, '00000000.0')]);
  await deliver(c, 1);
  assert.equal(await total(liveConnectionsClosedTotal), closedBefore, 'open connections were closed');
  assert.equal(await current(trustCas), 1, 'the CA in force was dropped');
  const before = await counters(c);
  const metricsUrl = `http://127.0.0.1:${c.client.port}/metrics`;
  const scrapeBefore = await scrape(metricsUrl);
  await revokeCertificate(pki.caDir, pki.clientCert, 'keyCompromise');
  const publishedAt = Date.now();
  await generateCrl(pki.caDir, { publishTo: pki.hashDir });
  await assertCutOff(c, publishedAt, before, metricsUrl, scrapeBefore);
});
