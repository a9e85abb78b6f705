// The classifier of delivery failures (src/client/refusal.ts) fed only with real failures of the client's own
// HTTP(S) connection (GatewayHttp): our TLS server refusing lab certificates made by the openssl CLI (it
// answers why over HTTP), `openssl s_server` refusing them with real TLS alerts (TLS 1.2: OpenSSL sends its
// alert before the handshake ends), server certificates our trust refuses (other CA, wrong name, expired),
// 401/403 answers, and transport faults on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { GatewayHttp, type PostOutcome } from '../../src/client/http.js';
import { classifyFailure, isRefusal, type DeliveryFailure } from '../../src/client/refusal.js';
import type { ClientTlsConfig } from '../../src/config/types.js';
import { createSecureListener } from '../../src/tls/server.js';
import { encodeMediaChunks } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { buildLabPki, type LabPki, type Leaf } from '../helpers/openssl-pki.js';
import { freePort, waitForPort } from '../helpers/net.js';
import { HttpSink } from '../helpers/http-sink.js';
import { clientSetup } from './fixtures.js';

type T = { after(fn: () => unknown): void };

let lab: LabPki;
let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-refusal-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

const BODY = encodeMediaChunks(
  [
    {
      message: buildMessage({ content: 'video_frame', sourceId: 'cam1' }),
      topic: Buffer.from('cam1'),
      data: [],
    },
  ],
  false,
);

/** One POST through the client's real HTTP(S) connection. */
async function postOnce(t: T, url: string, tls?: ClientTlsConfig): Promise<PostOutcome> {
  const { cfg } = await clientSetup(t, url, { extra: tls ? { tls } : {} });
  const http = await GatewayHttp.open(cfg);
  try {
    return await http.post('single', BODY);
  } finally {
    await http.close();
  }
}

async function classify(t: T, url: string, tls?: ClientTlsConfig): Promise<DeliveryFailure | undefined> {
  return classifyFailure(await postOnce(t, url, tls), { presentsCertificate: !!tls?.identity });
}

const as = (who?: Leaf, root = lab.server.certFile): ClientTlsConfig => ({
  rootCertificate: root,
  ...(who ? { identity: { certificate: who.certFile, key: who.keyFile } } : {}),
});

/** Our TLS server with client authentication over a hash directory where `revoked` is revoked. */
async function gatewayTls(t: T, host = '127.0.0.1'): Promise<string> {
  const dir = mkdtempSync(path.join(base, 'store-'));
  writeFileSync(path.join(dir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(dir, `${lab.inter.hash}.0`), lab.inter.certPem);
  writeFileSync(path.join(dir, `${lab.root.hash}.r0`), lab.crl(lab.root));
  writeFileSync(path.join(dir, `${lab.inter.hash}.r0`), lab.crl(lab.inter, { revoke: ['revoked'] }));
  const ok: http.RequestListener = (_req, res) => res.end('ok');
  const listener = await createSecureListener(
    {
      certificate: lab.server.certFile,
      key: lab.server.keyFile,
      clientAuth: { directory: dir, crlEnabled: true, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
    },
    ok,
  );
  listener.server.listen(0, host);
  await once(listener.server, 'listening');
  t.after(() => listener.close());
  return `https://${host}:${(listener.server.address() as net.AddressInfo).port}`;
}

test('our server refusing our certificate: the reason comes with its 401 answer', async (t) => {
  const url = await gatewayTls(t);
  const expectations: [Leaf | undefined, string][] = [
    [lab.clients.revoked, 'certificate_revoked'],
    [lab.clients.expired, 'certificate_expired'],
    [lab.clients.rogue, 'certificate_unknown_ca'],
    [lab.clients.wrongEku, 'certificate_wrong_purpose'],
    [undefined, 'certificate_required'],
  ];
  for (const [who, reason] of expectations) {
    const out = await postOnce(t, url, as(who));
    assert.equal(out.kind, 'response', reason);
    assert.equal(out.kind === 'response' && out.status, 401, reason);
    const f = classifyFailure(out, { presentsCertificate: !!who });
    assert.equal(f?.reason, reason);
    assert.equal(f?.kind, 'certificate_refused');
    assert.ok(f && isRefusal(f));
  }
  assert.equal(await classify(t, url, as(lab.clients.good)), undefined, 'a 200 is no failure');
});

test('the reason arrives even when the server does not read a large upload (8 MiB in 4 chunks)', async (t) => {
  const url = await gatewayTls(t);
  const { cfg } = await clientSetup(t, url, { extra: { tls: as(lab.clients.revoked) } });
  const http = await GatewayHttp.open(cfg);
  t.after(() => http.close());
  const chunk = new Uint8Array(2 << 20);
  const out = await http.post('single', { chunks: [chunk, chunk, chunk, chunk], length: 4 * chunk.length });
  assert.equal(classifyFailure(out, { presentsCertificate: true })?.reason, 'certificate_revoked');
});

test('our trust refusing the server: other CA, name mismatch, expired certificate', async (t) => {
  const url = await gatewayTls(t);
  const wrongCa = await classify(t, url, as(lab.clients.good, lab.ca2.certFile));
  assert.deepEqual(
    { reason: wrongCa?.reason, kind: wrongCa?.kind },
    { reason: 'server_untrusted', kind: 'server_untrusted' },
  );
  assert.match(wrongCa!.detail, /self-signed certificate/);

  // the server certificate names 127.0.0.1 and localhost, not 127.0.0.2 (still loopback)
  const other = await gatewayTls(t, '127.0.0.2');
  assert.equal((await classify(t, other, as(lab.clients.good)))?.reason, 'server_name_mismatch');

  const expired = await expiredServer(t);
  assert.equal(
    (await classify(t, expired, as(lab.clients.good, lab.root.certFile)))?.reason,
    'server_certificate_expired',
  );
});

/** An HTTPS sink serving a server certificate of the lab's intermediate that expired in 2021. */
async function expiredServer(t: T): Promise<string> {
  const dir = mkdtempSync(path.join(base, 'expired-'));
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const crt = path.join(dir, 'server.crt');
  const ext = path.join(dir, 'server.ext');
  writeFileSync(ext, 'basicConstraints = CA:FALSE\nsubjectAltName = IP:127.0.0.1\n');
  lab.openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  lab.openssl(
    ['req', '-new', '-config', path.join(lab.inter.dir, 'ca.cnf'), '-key', key].concat([
      '-subj',
      '/CN=expired-server',
      '-out',
      csr,
    ]),
  );
  lab.openssl(
    ['ca', '-batch', '-notext', '-config', path.join(lab.inter.dir, 'ca.cnf')].concat([
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20210101000000Z',
      '-extfile',
      ext,
      '-in',
      csr,
      '-out',
      crt,
    ]),
  );
  const sink = await HttpSink.start({
    tls: { cert: readFileSync(crt, 'utf8') + lab.inter.certPem, key: readFileSync(key, 'utf8') },
  });
  t.after(() => sink.close());
  return sink.url;
}

/** `openssl s_server` requiring a client certificate checked against the lab CAs and CRLs, TLS 1.2 only. */
async function opensslServer(t: T): Promise<string> {
  const dir = mkdtempSync(path.join(base, 's_server-'));
  mkdirSync(dir, { recursive: true });
  const cas = path.join(dir, 'cas.pem');
  const crls = path.join(dir, 'crls.pem');
  writeFileSync(cas, lab.root.certPem + lab.inter.certPem);
  writeFileSync(crls, lab.crl(lab.inter, { revoke: ['revoked'] }) + lab.crl(lab.root));
  const port = await freePort();
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-tls1_2', '-www', '-Verify', '3']
      .concat(['-cert', lab.server.certFile, '-key', lab.server.keyFile, '-CAfile', cas])
      .concat(['-CRL', crls, '-crl_check_all', '-verify_return_error']),
    { stdio: 'ignore' },
  );
  t.after(() => {
    child.kill();
  });
  await waitForPort(port);
  return `https://127.0.0.1:${port}`;
}

test('a server that refuses with TLS alerts (openssl s_server, TLS 1.2): the alert is the reason', async (t) => {
  const url = await opensslServer(t);
  const revoked = await classify(t, url, as(lab.clients.revoked));
  assert.equal(revoked?.reason, 'certificate_revoked');
  assert.match(revoked!.detail, /alert certificate revoked/);
  assert.equal((await classify(t, url, as(lab.clients.rogue)))?.reason, 'certificate_unknown_ca');
  assert.equal((await classify(t, url, as(lab.clients.wrongEku)))?.reason, 'certificate_wrong_purpose');
  assert.equal((await classify(t, url, as()))?.reason, 'certificate_required');
});

test('401 and 403 without a certificate code are credentials refused', async (t) => {
  for (const [status, reason] of [
    [401, 'auth_refused'],
    [403, 'auth_forbidden'],
  ] as const) {
    const sink = await HttpSink.start({ respond: () => status });
    t.after(() => sink.close());
    const f = await classify(t, sink.url);
    assert.deepEqual({ reason: f?.reason, kind: f?.kind }, { reason, kind: 'auth_refused' });
  }
  const unavailable = await HttpSink.start({ respond: () => 503 });
  t.after(() => unavailable.close());
  assert.equal(await classify(t, unavailable.url), undefined, 'a 503 is a per-message failure');
});

test('an unknown or hostile error code in a 401 body is credentials refused, escaped in the detail', async () => {
  const out: PostOutcome = {
    kind: 'response',
    status: 401,
    body: '{"error":"certificate_\\u001b[31mpwned\\u001b[0m"}\u001b[2J',
  };
  const f = classifyFailure(out, { presentsCertificate: true });
  assert.equal(f?.reason, 'auth_refused');
  assert.ok(!f!.detail.includes('\u001b'), 'no raw ESC in the detail');
  assert.match(f!.detail, /\\u001b\[2J/);
});

/** A loopback TCP server doing `onSocket` with every connection. */
async function tcpServer(t: T, onSocket: (s: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test('transport faults: refused, reset, closed before an answer, timeout, plain HTTP on an https URL', async (t) => {
  const closedPort = await freePort();
  assert.equal((await classify(t, `http://127.0.0.1:${closedPort}`))?.reason, 'connection_refused');

  const reset = await tcpServer(t, (s) => s.resetAndDestroy());
  assert.equal((await classify(t, reset))?.reason, 'connection_reset');

  const closing = await tcpServer(t, (s) => s.once('data', () => s.end()));
  const closed = await classify(t, closing);
  assert.equal(closed?.reason, 'connection_closed');
  assert.equal(closed?.kind, 'transport');
  assert.ok(!isRefusal(closed));

  // GatewayHttp sets no timeout of its own: a pool with a short one produces undici's real timeout error
  const silent = await tcpServer(t, () => undefined);
  const pool = new Pool(silent, { headersTimeout: 100 });
  t.after(() => pool.destroy());
  const error = await pool.request({ method: 'POST', path: '/', body: 'x' }).then(
    () => new Error('answered'),
    (e: Error) => e,
  );
  const timedOut = classifyFailure({ kind: 'transport_error', error }, { presentsCertificate: false });
  assert.equal(timedOut?.reason, 'timeout');

  const plain = await HttpSink.start();
  t.after(() => plain.close());
  const wrongScheme = await classify(t, plain.url.replace('http:', 'https:'), as());
  assert.equal(wrongScheme?.reason, 'tls_handshake_failed');
});
