// The server's side of "say why" (src/tls/server.ts, src/tls/refusal-answer.ts), over real TLS with an
// openssl-made lab PKI: repeated identical rejections are logged once per interval with a count, the
// tracking table is bounded, and a request in flight on a connection that a trust reload revokes is
// answered 401 {"error":"certificate_revoked"} through the real gateway instead of a bare cut.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import https from 'node:https';
import type http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSecureListener } from '../../src/tls/server.js';
import { encodeMedia } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { liveConnectionsClosedTotal, tlsRejectionsTotal } from '../../src/metrics/registry.js';
import { buildLabPki, type LabPki, type Leaf } from '../helpers/openssl-pki.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitUntil } from '../client/fixtures.js';
import { current } from '../metrics/prom.js';
import {
  gateway,
  nextMessage,
  post,
  serverConfig,
  sink,
  tcp,
  writerConfig,
  PROTOBUF,
} from '../server/fixtures.js';

type T = { after(fn: () => unknown): void };

let lab: LabPki;
let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-tls-refusal-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

let stores = 0;
function trustDir(revoke: ('revoked' | 'good')[] = ['revoked']): string {
  const dir = path.join(base, `store-${++stores}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(dir, `${lab.inter.hash}.0`), lab.inter.certPem);
  writeFileSync(path.join(dir, `${lab.root.hash}.r0`), lab.crl(lab.root));
  writeFileSync(path.join(dir, `${lab.inter.hash}.r0`), lab.crl(lab.inter, { revoke }));
  return dir;
}

const clientAuth = (directory: string) => ({
  directory,
  crlEnabled: true,
  pollIntervalMs: 1000,
  crlExpiryWarningMs: 3_600_000,
});

async function listener(t: T, opts: { rejectionLogIntervalMs: number; rejectionLogMaxKeys: number }) {
  const ok: http.RequestListener = (_req, res) => res.end('ok');
  const l = await createSecureListener(
    { certificate: lab.server.certFile, key: lab.server.keyFile, clientAuth: clientAuth(trustDir()) },
    ok,
    opts,
  );
  l.server.listen(0, '127.0.0.1');
  await once(l.server, 'listening');
  t.after(() => l.close());
  return (l.server.address() as net.AddressInfo).port;
}

/** One GET on a fresh connection presenting `who`: the status and body of the answer. */
function get(port: number, who: Leaf): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        agent: false,
        ca: lab.server.certPem,
        cert: who.certPem,
        key: who.keyPem,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
  });
}

const FIRST = /client certificate rejected (?!again)/;
const countOf = (line: string) => Number(/ count=(\d+)/.exec(line)?.[1] ?? NaN);

test('the same certificate refused again and again: one line, then one summary with the count', async (t) => {
  const log = captureLog(t);
  const port = await listener(t, { rejectionLogIntervalMs: 1500, rejectionLogMaxKeys: 16 });
  const before = await current(tlsRejectionsTotal, { reason: 'revoked' });
  for (let i = 0; i < 5; i++) {
    const answer = await get(port, lab.clients.revoked);
    assert.equal(answer.status, 401);
    assert.deepEqual(JSON.parse(answer.body), { error: 'certificate_revoked' });
  }
  assert.equal(
    await current(tlsRejectionsTotal, { reason: 'revoked' }),
    before + 5,
    'every rejection counted',
  );
  const first = log.matching(FIRST);
  assert.equal(first.length, 1, first.join('\n'));
  assert.match(first[0], /subject="CN=client-revoked,O=Test Org" serial=\S+ issuer=.* reason=revoked/);
  await waitUntil(
    () => log.matching(/client certificate rejected again/).reduce((n, l) => n + countOf(l), 0) === 4,
    'the summary of the four repeats',
  );
  assert.match(
    log.matching(/client certificate rejected again/)[0],
    /client-revoked.*reason=revoked.* count=\d+/,
  );
});

test('rejections of more identities than tracked: the rest is one overflow count, memory stays bounded', async (t) => {
  const log = captureLog(t);
  const port = await listener(t, { rejectionLogIntervalMs: 1500, rejectionLogMaxKeys: 1 });
  for (const who of [lab.clients.rogue, lab.clients.ca2, lab.clients.expired, lab.clients.wrongEku])
    assert.equal((await get(port, who)).status, 401);
  assert.equal(log.matching(FIRST).length, 1, 'only the tracked identity gets a line of its own');
  await waitUntil(
    () => log.matching(/beyond the tracked ones/).reduce((n, l) => n + countOf(l), 0) === 3,
    'the overflow summary',
  );
});

test('a request in flight when a reload revokes its client is answered 401 with the reason, then closed', async (t) => {
  const ep = await tcp();
  // the sink holds its reply, so the server's req writer (and the HTTP request) stay in flight
  const reader = await sink(t, `rep+bind:${ep}`, { ack: 'on_delivery' });
  const dir = trustDir();
  const server = await gateway(
    t,
    serverConfig(writerConfig(`req+connect:${ep}`, { receiveTimeoutMs: 10_000 }), {
      tls: { certificate: lab.server.certFile, key: lab.server.keyFile, clientAuth: clientAuth(dir) },
    }),
  );
  const good = lab.clients.good;
  const media = encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1' }),
    topic: Buffer.from('cam1'),
    data: [],
  });
  const closedBefore = await current(liveConnectionsClosedTotal, { reason: 'revoked' });
  const pending = post(server.url, media, PROTOBUF, {
    ca: lab.server.certPem,
    cert: good.certPem,
    key: good.keyPem,
  });
  const held = await nextMessage(reader);
  t.after(() => held.ack());

  const tmp = path.join(dir, '.tmp-crl');
  writeFileSync(tmp, lab.crl(lab.inter, { revoke: ['revoked', 'good'] }));
  renameSync(tmp, path.join(dir, `${lab.inter.hash}.r0`));
  const answer = await pending;
  assert.equal(answer.status, 401);
  assert.equal(answer.headers.connection, 'close');
  assert.deepEqual(JSON.parse(answer.body.toString()), { error: 'certificate_revoked' });
  assert.equal(await current(liveConnectionsClosedTotal, { reason: 'revoked' }), closedBefore + 1);
});
