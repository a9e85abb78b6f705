// Revocation under a flood: while half-open handshakes from several addresses hold every connection the
// budget allows, a CRL published into the trust directory still cuts the revoked client's open
// connection, and a legitimate client that then finds the freed slot is served. (The 1 s figure is
// measured by `npm run stress`, docs/security.md.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/limits.js';
import { openConnections } from '../../src/limits/metrics.js';
import { buildLabPki } from '../helpers/openssl-pki.js';
import { current } from '../metrics/prom.js';
import { gatewayToRouter } from '../server/fixtures.js';
import { rawConnect, receivedMatching, tlsConnect, type RawPeer } from './raw.js';

const LIMIT = 12;

test('a flood holding every connection slot does not stop a revocation, nor a legitimate client from using a freed slot', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mg-revoke-flood-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lab = buildLabPki(path.join(dir, 'lab'));
  const trust = path.join(dir, 'trust');
  mkdirSync(trust);
  const put = (name: string, content: string) => {
    writeFileSync(path.join(trust, '.tmp'), content);
    renameSync(path.join(trust, '.tmp'), path.join(trust, name));
  };
  put(`${lab.root.hash}.0`, lab.root.certPem);
  put(`${lab.inter.hash}.0`, lab.inter.certPem);
  put(`${lab.root.hash}.r0`, lab.crl(lab.root));
  put(`${lab.inter.hash}.r0`, lab.crl(lab.inter));
  const { server } = await gatewayToRouter(t, {
    tls: {
      certificate: lab.server.certFile,
      key: lab.server.keyFile,
      clientAuth: { directory: trust, crlEnabled: true, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
    },
    limits: {
      ...DEFAULT_SERVER_LIMITS,
      maxConnections: LIMIT,
      maxConnectionsPerAddress: 4,
      tlsHandshakeTimeoutMs: 120_000,
      headerTimeoutMs: 120_000,
      requestTimeoutMs: 120_000,
    },
  });
  const as = (who: 'good' | 'revoked') => ({
    ca: lab.server.certPem,
    cert: lab.clients[who].chainPem,
    key: lab.clients[who].keyPem,
  });

  const victim = await tlsConnect(server.port, as('revoked'));
  victim.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(await receivedMatching(victim, /\r\n\r\n\{/), /^HTTP\/1\.1 200/);

  // the flood: half-open handshakes from three addresses, up to the per-address limit each
  const flood: RawPeer[] = [];
  t.after(() => flood.forEach((p) => p.socket.destroy()));
  for (let i = 0; flood.length < LIMIT - 1; i++) {
    const peer = await rawConnect(server.port, `127.0.0.${20 + (i % 3)}`);
    peer.socket.write(Buffer.from('16030100', 'hex'));
    flood.push(peer);
  }
  while ((await current(openConnections)) < LIMIT) await new Promise(setImmediate);
  const shutOut = await rawConnect(server.port, '127.0.0.30');
  assert.equal(await shutOut.closed, '', 'no slot left: a new connection is closed at once');

  put(`${lab.inter.hash}.r0`, lab.crl(lab.inter, { revoke: ['revoked'] }));
  await victim.closed;

  const legit = await tlsConnect(server.port, as('good'));
  legit.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(await legit.closed, /^HTTP\/1\.1 200/);
  assert.ok(
    flood.every((p) => !p.socket.destroyed),
    'the flood still holds its slots',
  );
});
