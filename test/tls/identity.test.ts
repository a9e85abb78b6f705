// Server/client identity loading (PKCS#8, PKCS#1, SEC1; encrypted, mismatched, unreadable files)
// and the client side: loadClientTls against a real HTTPS listener with a self-signed server cert.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLabPki, type LabPki } from '../helpers/openssl-pki.js';
import { loadIdentityFiles } from '../../src/tls/identity-files.js';
import { loadClientTls } from '../../src/tls/client.js';
import { createSecureListener } from '../../src/tls/server.js';

let lab: LabPki;
let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-id-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

test('key formats: PKCS#8, PKCS#1 (RSA) and SEC1 (EC) load; errors name the file', async () => {
  const { server } = lab;
  assert.match((await loadIdentityFiles(server.certFile, server.keyFile)).key, /BEGIN PRIVATE KEY/);
  const sec1 = path.join(base, 'sec1.key');
  lab.openssl(['pkey', '-in', server.keyFile, '-traditional', '-out', sec1]);
  assert.match((await loadIdentityFiles(server.certFile, sec1)).key, /BEGIN EC PRIVATE KEY/);
  const rsaKey = path.join(base, 'rsa.key');
  const rsaPkcs1 = path.join(base, 'rsa1.key');
  const rsaCert = path.join(base, 'rsa.crt');
  lab.openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', rsaKey]);
  lab.openssl(['pkey', '-in', rsaKey, '-traditional', '-out', rsaPkcs1]);
  lab.openssl(['req', '-new', '-x509', '-key', rsaKey, '-subj', '/CN=rsa', '-days', '1', '-out', rsaCert]);
  assert.match((await loadIdentityFiles(rsaCert, rsaPkcs1)).key, /BEGIN RSA PRIVATE KEY/);

  const enc = path.join(base, 'enc.key');
  lab.openssl(['pkey', '-in', server.keyFile, '-aes256', '-passout', 'pass:secret', '-out', enc]);
  await assert.rejects(loadIdentityFiles(server.certFile, enc), new RegExp(`key file ${enc} is encrypted`));
  await assert.rejects(
    loadIdentityFiles(server.certFile, lab.clients.good.keyFile),
    new RegExp(`the key in ${lab.clients.good.keyFile} does not match the certificate in ${server.certFile}`),
  );
  await assert.rejects(
    loadIdentityFiles(path.join(base, 'nope.crt'), server.keyFile),
    /cannot read certificate file .*nope\.crt/,
  );
  await assert.rejects(
    loadIdentityFiles(server.certFile, path.join(base, 'nope.key')),
    /cannot read key file .*nope\.key/,
  );
  const junk = path.join(base, 'junk.pem');
  writeFileSync(junk, 'not pem');
  await assert.rejects(
    loadIdentityFiles(junk, server.keyFile),
    /certificate file .*junk\.pem holds no PEM certificate/,
  );
  await assert.rejects(
    loadIdentityFiles(server.certFile, junk),
    /key file .*junk\.pem holds no PEM private key/,
  );
  await assert.rejects(
    createSecureListener({ certificate: server.certFile, key: enc }, () => {}),
    /is encrypted/,
  );
});

test('client: trusts the configured server certificate, presents its identity, refuses a wrong CA', async (t) => {
  const listener = await createSecureListener(
    { certificate: lab.server.certFile, key: lab.server.keyFile },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.end(peer && peer.subject ? `peer ${peer.subject.CN}` : 'anonymous');
    },
  );
  // plain HTTPS has no client verification, so ask for a certificate to see the identity arrive
  listener.server.setSecureContext({ cert: lab.server.certPem, key: lab.server.keyPem });
  Object.assign(listener.server, { requestCert: true, rejectUnauthorized: false });
  listener.server.listen(0, '127.0.0.1');
  await once(listener.server, 'listening');
  t.after(() => listener.close());
  const port = (listener.server.address() as { port: number }).port;
  assert.deepEqual(listener.check({} as never), { ok: true });

  const call = (opts: https.RequestOptions) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, agent: false, ...opts }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  const tlsOpts = await loadClientTls({
    rootCertificate: lab.server.certFile,
    identity: { certificate: lab.clients.good.certFile, key: lab.clients.good.keyFile },
  });
  assert.equal(tlsOpts.ca?.length, 1);
  assert.equal(await call(tlsOpts), 'peer client-good');
  const wrongCa = await loadClientTls({ rootCertificate: lab.root.certFile });
  await assert.rejects(call(wrongCa), /self[- ]signed|unable to verify|certificate/i);
  assert.deepEqual(await loadClientTls({}), {});
  await assert.rejects(
    loadClientTls({ rootCertificate: path.join(base, 'none.pem') }),
    /cannot read root certificate file/,
  );
});
