// The client over HTTPS with certificates made by the real openssl CLI: the configured root certificate is
// trusted (added to the system roots), the client identity is presented, and a server the client cannot
// verify is a transport failure that is retried, never a delivery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpSink } from '../helpers/http-sink.js';
import { buildLabPki } from '../helpers/openssl-pki.js';
import { tempDir } from '../helpers/tmp.js';
import { clientSetup, range, runClient, sendNumbered, seqOf, source, waitUntil } from './fixtures.js';

test('https: trusted self-signed server, client certificate presented, messages delivered', async (t) => {
  const pki = buildLabPki(await tempDir(t, 'mg-client-pki-'));
  const http = await HttpSink.start({
    tls: { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.root.certPem + pki.inter.certPem },
  });
  t.after(() => http.close());
  const good = pki.clients.good;
  const { cfg, endpoint } = await clientSetup(t, http.url, {
    extra: {
      tls: {
        rootCertificate: pki.server.certFile,
        identity: { certificate: good.certFile, key: good.keyFile },
      },
    },
  });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(3)) await sendNumbered(dealer, 'cam1', seq);
  const got = await http.waitForAccepted(3);
  assert.deepEqual(got.map(seqOf), range(3));
  assert.ok(got.every((i) => i.peerCn === 'client-good'));
  assert.equal(client.stats().retries, 0);
});

test('https: a server certificate the client does not trust is retried, never delivered', async (t) => {
  const pki = buildLabPki(await tempDir(t, 'mg-client-pki-'));
  const http = await HttpSink.start({ tls: { cert: pki.server.certPem, key: pki.server.keyPem } });
  t.after(() => http.close());
  const { cfg, endpoint } = await clientSetup(t, http.url, {
    // trusts some other CA only
    extra: { tls: { rootCertificate: pki.ca2.certFile } },
  });
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  await sendNumbered(dealer, 'cam1', 0);
  await waitUntil(() => client.stats().retries >= 2, 'retries');
  assert.equal(http.seen.length, 0);
  assert.match(JSON.stringify(client.health()), /self-signed|certificate/i);
});
