// The server's upgraded stream (src/server/stream.ts) from a raw TLS socket with our lab PKI's
// certificates: batches forwarded in order and answered like POST /batch, the upgrade admitted like a POST
// (certificates, Basic with users in a real etcd, routing labels per item), the duplicate filter, and every
// hostile input (early, unknown, oversized, malformed or truncated frames) refused with its code while the
// server stays up. A CRL rewrite that revokes the client cuts its open stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Etcd3 } from 'etcd3';
import type { ServerTlsConfig } from '../../src/config/types.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/index.js';
import {
  FRAME,
  FRAME_HEADER_BYTES,
  STREAM_PROTOCOL,
  frameHeader,
  readFrameHeader,
} from '../../src/contract/stream.js';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { formatMessageIds } from '../../src/spool/identity.js';
import { streamBatchesTotal, streamRefusalsTotal } from '../../src/server/stream.js';
import { connectionTimeoutsTotal } from '../../src/limits/index.js';
import { buildLabPki, type ClientName, type LabPki, type Leaf } from '../helpers/openssl-pki.js';
import { startEtcd } from '../helpers/etcd.js';
import { VECTORS, basic, basicConfig } from '../helpers/basic-auth.js';
import { gatewayToRouter, nextMessage } from './fixtures.js';
import { verificationsInFlight } from '../../src/limits/index.js';

let lab: LabPki;
let base: string;
let dirs = 0;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-server-stream-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

function trustDir(revoked: ClientName[] = ['revoked']): { dir: string; revoke(cn: ClientName[]): void } {
  const dir = path.join(base, `trust-${++dirs}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(dir, `${lab.inter.hash}.0`), lab.inter.certPem);
  writeFileSync(path.join(dir, `${lab.root.hash}.r0`), lab.crl(lab.root));
  const crl = (r: ClientName[]) =>
    writeFileSync(path.join(dir, `${lab.inter.hash}.r0`), lab.crl(lab.inter, { revoke: r }));
  crl(revoked);
  return { dir, revoke: crl };
}

function mtls(dir: string): ServerTlsConfig {
  return {
    certificate: lab.server.certFile,
    key: lab.server.keyFile,
    clientAuth: { directory: dir, crlEnabled: true, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
  };
}

function item(seq: number, labels: string[] = []): Uint8Array {
  return encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1', routingLabels: labels }),
    topic: new TextEncoder().encode('cam1'),
    data: [Buffer.from(String(seq))],
  });
}

/** A raw client of the stream: the upgrade request by hand, then frames. */
class RawStream {
  readonly received: Buffer[] = [];
  private bytes = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  /** resolves when the socket closes, after an error (a reset by the server) too */
  readonly closed: Promise<void>;

  constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (c: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, c]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise<void>((r) => socket.once('close', () => r()));
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(url: string, who: Leaf | undefined): Promise<RawStream> {
    const port = Number(new URL(url).port);
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: lab.server.certPem,
      ...(who ? { cert: who.chainPem, key: who.keyPem } : {}),
    });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    return new RawStream(socket);
  }

  /** Writes the upgrade request and resolves to the status line's code, with the headers' text. */
  async upgrade(opts: { path?: string; method?: string; protocol?: string; headers?: string[] } = {}) {
    const lines = [
      `${opts.method ?? 'GET'} ${opts.path ?? '/stream'} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: Upgrade',
      `Upgrade: ${opts.protocol ?? STREAM_PROTOCOL}`,
      ...(opts.headers ?? []),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    await this.until(() => this.bytes.indexOf('\r\n\r\n') >= 0);
    const end = this.bytes.indexOf('\r\n\r\n');
    const head = this.bytes.subarray(0, end).toString();
    this.bytes = this.bytes.subarray(end + 4);
    return { status: Number(head.split(' ')[1]), head, rest: () => this.bytes.toString() };
  }

  batch(items: Uint8Array[], meta?: Record<string, string>): void {
    const body = Buffer.from(encodeMediaBatch(items));
    const m = meta ? Buffer.from(JSON.stringify(meta)) : Buffer.alloc(0);
    this.socket.write(Buffer.concat([frameHeader(FRAME.batch, m.length, body.length), m, body]));
  }

  /** The next server frame: type, and for a reply its status and text. */
  async frame(): Promise<{ type: number; status?: number; text: string }> {
    await this.until(
      () =>
        this.bytes.length >= FRAME_HEADER_BYTES &&
        this.bytes.length >= FRAME_HEADER_BYTES + readFrameHeader(this.bytes).bodyLength,
    );
    const h = readFrameHeader(this.bytes);
    const payload = this.bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + h.bodyLength);
    this.bytes = this.bytes.subarray(FRAME_HEADER_BYTES + h.bodyLength);
    if (h.type === FRAME.reply)
      return { type: h.type, status: payload.readUInt16BE(0), text: payload.toString('utf8', 2) };
    return { type: h.type, text: payload.toString() };
  }

  private async until(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.socket.destroyed) throw new Error(`stream closed; had: ${this.bytes.toString()}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

const INSTANCE = 'a'.repeat(32);

async function refusals(code: string): Promise<number> {
  const m = await streamRefusalsTotal.get();
  return m.values.find((v) => v.labels.code === code)?.value ?? 0;
}

async function open(url: string, who: Leaf = lab.clients.good): Promise<RawStream> {
  const s = await RawStream.connect(url, who);
  const up = await s.upgrade();
  assert.equal(up.status, 101);
  return s;
}

test('stream: batches forwarded in order, each answered like POST /batch', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { tls: mtls(trustDir().dir) });
  const s = await open(server.url);
  for (let b = 0; b < 3; b++) {
    s.batch([0, 1, 2, 3].map((i) => item(b * 4 + i)));
    assert.deepEqual(await s.frame(), {
      type: FRAME.reply,
      status: 200,
      text: '{"accepted":4,"status":200}',
    });
  }
  for (let i = 0; i < 12; i++)
    assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), String(i));
  s.socket.end();
});

test('stream: the duplicate filter drops a batch sent again with the same message ids', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { tls: mtls(trustDir().dir) });
  const s = await open(server.url);
  const meta = { 'x-media-gateway-message-ids': formatMessageIds(INSTANCE, [7, 8]) };
  s.batch([item(7), item(8)], meta);
  assert.equal((await s.frame()).status, 200);
  s.batch([item(7), item(8)], meta); // the client's retry after a lost reply
  assert.equal((await s.frame()).text, '{"accepted":2,"status":200}');
  s.batch([item(9)], { 'x-media-gateway-message-ids': formatMessageIds(INSTANCE, [9]) });
  assert.equal((await s.frame()).status, 200);
  const got = [];
  for (let i = 0; i < 3; i++) got.push(Buffer.from((await nextMessage(reader)).data[0]).toString());
  assert.deepEqual(got, ['7', '8', '9'], 'the repeated batch was not forwarded twice');
  s.socket.end();
});

test('stream: upgrades refused like a POST: no certificate, a revoked one, a wrong path, method or protocol', async (t) => {
  const { server } = await gatewayToRouter(t, { tls: mtls(trustDir().dir) });
  const noCert = await RawStream.connect(server.url, undefined).then(
    async (s) => (await s.upgrade()).status,
    (e: Error) => e.message,
  );
  assert.notEqual(noCert, 101);
  const revoked = await RawStream.connect(server.url, lab.clients.revoked).then(
    async (s) => (await s.upgrade()).status,
    (e: Error) => e.message,
  );
  assert.notEqual(revoked, 101);
  const cases: [Parameters<RawStream['upgrade']>[0], number, string][] = [
    [{ path: '/strem' }, 404, 'stream_upgrade_path'],
    [{ path: '/' }, 404, 'stream_upgrade_path'],
    [{ method: 'POST' }, 405, 'stream_upgrade_method'],
    [{ protocol: 'websocket' }, 400, 'stream_upgrade_protocol'],
  ];
  for (const [opts, status, code] of cases) {
    const before = await refusals(code);
    const s = await RawStream.connect(server.url, lab.clients.good);
    const up = await s.upgrade(opts);
    assert.equal(up.status, status, JSON.stringify(opts));
    await s.closed;
    assert.match(up.rest(), new RegExp(code));
    assert.equal(await refusals(code), before + 1);
  }
});

test('stream: a frame sent before the 101 is refused (stream_early_frame)', async (t) => {
  const { server } = await gatewayToRouter(t, { tls: mtls(trustDir().dir) });
  const s = await RawStream.connect(server.url, lab.clients.good);
  const body = Buffer.from(encodeMediaBatch([item(0)]));
  const request = `GET /stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${STREAM_PROTOCOL}\r\n\r\n`;
  s.socket.write(Buffer.concat([Buffer.from(request), frameHeader(FRAME.batch, 0, body.length), body]));
  await s.closed;
  assert.equal(s.received.length, 0);
});

test('stream: hostile frames are refused with their code and the server stays up', async (t) => {
  const { server, reader } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    maxBodySize: 1024 * 1024,
    limits: { ...DEFAULT_SERVER_LIMITS, maxBatchItems: 2 },
  });
  const hostile: [string, (s: RawStream) => void, { type: number; status?: number }][] = [
    ['stream_unknown_frame', (s) => s.socket.write(frameHeader(0x07, 0, 0)), { type: FRAME.error }],
    [
      'stream_unknown_frame',
      (s) => s.socket.write(Buffer.from('garbage, not a frame')),
      { type: FRAME.error },
    ],
    [
      'stream_meta_too_large',
      (s) => s.socket.write(frameHeader(FRAME.batch, 0x7fffffff, 0)),
      { type: FRAME.error },
    ],
    // declares 4 GiB and sends nothing more: refused at once, nothing allocated for it
    [
      'stream_frame_too_large',
      (s) => s.socket.write(frameHeader(FRAME.batch, 0, 0xffffffff)),
      { type: FRAME.reply, status: 413 },
    ],
    [
      'stream_bad_meta',
      (s) => {
        const meta = Buffer.from('{"authorization":"Basic eDp5"}'); // only the per-item headers are meta
        s.socket.write(Buffer.concat([frameHeader(FRAME.batch, meta.length, 0), meta]));
      },
      { type: FRAME.error },
    ],
    [
      'stream_body_refused',
      // over the decode limit of items per batch: refused while it arrives, 413 as for POST /batch
      (s) => s.batch([item(0), item(1), item(2)]),
      { type: FRAME.reply, status: 413 },
    ],
  ];
  for (const [code, send, expected] of hostile) {
    const before = await refusals(code);
    const s = await open(server.url);
    send(s);
    const f = await s.frame();
    assert.equal(f.type, expected.type, code);
    if (expected.status) assert.equal(f.status, expected.status, code);
    else assert.equal(f.text, code);
    await s.closed;
    assert.equal(await refusals(code), before + 1, code);
  }
  // a MediaBatch that does not decode is answered 400 as POST /batch answers it; the stream goes on
  const bad = await open(server.url);
  const truncatedItem = Buffer.from([0x0a, 0x05, 1, 2, 3]);
  bad.socket.write(Buffer.concat([frameHeader(FRAME.batch, 0, truncatedItem.length), truncatedItem]));
  assert.deepEqual(await bad.frame(), { type: FRAME.reply, status: 400, text: '' });
  bad.batch([item(41)]);
  assert.equal((await bad.frame()).status, 200);
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), '41');
  bad.socket.end();
  // truncated: half a frame, then the peer goes away
  const cut = await open(server.url);
  const body = Buffer.from(encodeMediaBatch([item(0)]));
  cut.socket.end(Buffer.concat([frameHeader(FRAME.batch, 0, body.length), body.subarray(0, 3)]));
  await cut.closed;
  // and the server still serves
  const s = await open(server.url);
  s.batch([item(42)]);
  assert.equal((await s.frame()).status, 200);
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), '42');
  s.socket.end();
});

test('stream: a CRL rewrite revoking the client cuts its open stream', async (t) => {
  const trust = trustDir();
  const { server } = await gatewayToRouter(t, { tls: mtls(trust.dir) });
  const s = await open(server.url);
  s.batch([item(0)]);
  assert.equal((await s.frame()).status, 200);
  trust.revoke(['revoked', 'good']);
  const t0 = Date.now();
  await s.closed;
  // the stress suite measures the 1 s target; 10 s still fails a server that never re-checked the socket
  assert.ok(Date.now() - t0 < 10_000, `closed after ${Date.now() - t0} ms`);
});

test('stream: Basic auth: missing, wrong or quarantined credentials refused at the upgrade; routing labels checked per item', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv
    .put('/users/user1')
    .value(JSON.stringify({ password_hash: VECTORS.password1, allowed_routing_labels: { set: 'cam' } }));
  const { server, reader } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    auth: { basic: basicConfig(etcd, { quarantine: { failedAttemptLimit: 2, periodMs: 60_000 } }) },
  });
  const none = await (await RawStream.connect(server.url, lab.clients.good)).upgrade();
  assert.equal(none.status, 401);
  assert.match(none.head, /WWW-Authenticate: Basic/i);
  const wrong = await (
    await RawStream.connect(server.url, lab.clients.good)
  ).upgrade({ headers: [`Authorization: ${basic('user1', 'nope')}`] });
  assert.equal(wrong.status, 401);

  const s = await RawStream.connect(server.url, lab.clients.good);
  const up = await s.upgrade({ headers: [`Authorization: ${basic('user1', 'password1')}`] });
  assert.equal(up.status, 101);
  s.batch([item(0, ['cam']), item(1, ['other']), item(2, ['cam'])]);
  // the item whose labels the user may not send stops the batch, as in POST /batch
  assert.deepEqual(await s.frame(), { type: FRAME.reply, status: 200, text: '{"accepted":1,"status":401}' });
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), '0');
  s.batch([item(2, ['cam'])]);
  assert.equal((await s.frame()).text, '{"accepted":1,"status":200}');
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), '2');
  s.socket.end();
  const open2 = await RawStream.connect(server.url, lab.clients.good);
  assert.equal(
    (await open2.upgrade({ headers: [`Authorization: ${basic('user1', 'password1')}`] })).status,
    101,
  );
  // two wrong passwords in a row quarantine user1 from this address: then even the right one is refused
  for (const attempt of ['nope2', 'nope3']) {
    const r = await (
      await RawStream.connect(server.url, lab.clients.good)
    ).upgrade({ headers: [`Authorization: ${basic('user1', attempt)}`] });
    assert.equal(r.status, 401);
  }
  const quarantined = await (
    await RawStream.connect(server.url, lab.clients.good)
  ).upgrade({ headers: [`Authorization: ${basic('user1', 'password1')}`] });
  assert.equal(quarantined.status, 401, 'quarantined');
  // and every batch is admitted again: the stream opened before the quarantine is refused and closed
  const refusedBefore = await refusals('stream_batch_refused');
  open2.batch([item(3, ['cam'])]);
  assert.deepEqual(await open2.frame(), { type: FRAME.reply, status: 401, text: '' });
  await open2.closed;
  assert.equal(await refusals('stream_batch_refused'), refusedBefore + 1);
});

test('stream: its own timeouts: idle between frames, progress inside one', async (t) => {
  const { server } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    limits: { ...DEFAULT_SERVER_LIMITS, idleTimeoutMs: 300, bodyProgressTimeoutMs: 300 },
  });
  const timeouts = async (phase: string) =>
    (await connectionTimeoutsTotal.get()).values.find((v) => v.labels.phase === phase)?.value ?? 0;
  const idleBefore = await timeouts('idle');
  const idle = await open(server.url);
  await idle.closed;
  assert.equal(await timeouts('idle'), idleBefore + 1);

  const stalledBefore = await timeouts('body_progress');
  const stalled = await open(server.url);
  const body = Buffer.from(encodeMediaBatch([item(0)]));
  stalled.socket.write(Buffer.concat([frameHeader(FRAME.batch, 0, body.length), body.subarray(0, 4)]));
  await stalled.closed;
  assert.equal(await timeouts('body_progress'), stalledBefore + 1);
});

test('stream: an item over a POST / limit stops the frame: the items before it are forwarded, then the stream closes', async (t) => {
  const { server, reader } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    limits: { ...DEFAULT_SERVER_LIMITS, maxExtraFrames: 2 },
  });
  const s = await open(server.url);
  const tooMany = encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1' }),
    topic: new TextEncoder().encode('cam1'),
    data: [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')],
  });
  s.batch([item(0), tooMany, item(2)]);
  assert.deepEqual(await s.frame(), { type: FRAME.reply, status: 200, text: '{"accepted":1,"status":413}' });
  await s.closed;
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), '0');
});

test('stream: a peer that never reads its replies is no longer read, then cut after idle_timeout', async (t) => {
  const { server } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    limits: { ...DEFAULT_SERVER_LIMITS, idleTimeoutMs: 1000 },
  });
  const { socket, closed } = await open(server.url);
  socket.pause(); // never reads a reply again
  const batchesBefore = (await streamBatchesTotal.get()).values[0]?.value ?? 0;
  // empty batch frames: 9 bytes each, every one answered by a ~40-byte reply the server has to keep
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => frameHeader(FRAME.batch, 0, 0)));
  // what the socket buffers take before the server stops reading: measured ~560k frames (~100k read)
  const MAX_FRAMES = 1_500_000;
  const deadline = Date.now() + 120_000; // hang guard: unfixed, the server reads on and never cuts
  let sent = 0;
  let cut = false;
  void closed.then(() => (cut = true));
  while (sent < MAX_FRAMES && !cut && Date.now() < deadline) {
    sent += 1000;
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain').catch(() => undefined), closed]);
  }
  const read = ((await streamBatchesTotal.get()).values[0]?.value ?? 0) - batchesBefore;
  t.diagnostic(`frames sent ${sent}, read by the server ${read}, cut ${cut}`);
  socket.destroy();
  assert.ok(cut, `the server read ${read} of ${sent} frames without one reply read, and did not cut`);
});

test('stream: an upgrade still being authenticated when close() begins is refused (stream_closing), so close() ends', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/user1').value(JSON.stringify({ password_hash: VECTORS.password1 }));
  const { server } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    auth: { basic: basicConfig(etcd) },
  });
  // the moment the upgrade's Argon2 verification starts, the server is asked to close
  const set = verificationsInFlight.set.bind(verificationsInFlight);
  let closing: Promise<void> | undefined;
  t.after(() => void (verificationsInFlight.set = set));
  verificationsInFlight.set = ((v: number) => {
    set(v);
    if (v > 0 && !closing) closing = server.close();
  }) as typeof set;
  const s = await RawStream.connect(server.url, lab.clients.good);
  const up = await s.upgrade({ headers: [`Authorization: ${basic('user1', 'password1')}`] });
  assert.ok(closing, 'close() began while the upgrade was authenticated');
  assert.equal(up.status, 503);
  assert.match(up.rest(), /stream_closing/);
  // unfixed: the stream is admitted after its sessions were told to end, and holds close() open
  let guard: NodeJS.Timeout | undefined;
  const held = new Promise<string>((r) => (guard = setTimeout(() => r('close() still held'), 30_000)));
  assert.equal(await Promise.race([closing.then(() => 'closed'), held]), 'closed');
  clearTimeout(guard);
  s.socket.destroy();
});

test('stream: close() does not wait for a peer that leaves its replies unread', async (t) => {
  const { server } = await gatewayToRouter(t, {
    tls: mtls(trustDir().dir),
    limits: { ...DEFAULT_SERVER_LIMITS, idleTimeoutMs: 100_000 },
  });
  const { socket } = await open(server.url);
  socket.pause();
  // empty batches until the server stops reading them (its replies are unflushed): no drain for 2 s
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => frameHeader(FRAME.batch, 0, 0)));
  const stalled = () =>
    new Promise<boolean>((r) => {
      const timer = setTimeout(() => r(true), 2000);
      socket.once('drain', () => {
        clearTimeout(timer);
        r(false);
      });
    });
  let blocked = false;
  for (let i = 0; i < 2000 && !blocked; i++) if (!socket.write(chunk)) blocked = await stalled();
  assert.ok(blocked, 'the server kept reading');
  const t0 = Date.now();
  let guard: NodeJS.Timeout | undefined;
  const held = new Promise<string>((r) => (guard = setTimeout(() => r('close() still held'), 30_000)));
  // unfixed: close() waits for the unread replies until idle_timeout (100 s here)
  assert.equal(await Promise.race([server.close().then(() => 'closed'), held]), 'closed');
  clearTimeout(guard);
  t.diagnostic(`close() took ${Date.now() - t0} ms`);
  socket.destroy();
});

test('stream: a crafted item is refused after its first bytes as in POST /batch; the items before it are forwarded', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { tls: mtls(trustDir().dir) });
  const s = await open(server.url);
  const before = Buffer.from(encodeMediaBatch([item(0)]));
  // an item declaring 2 MiB of empty data fields (1a 00): over max_extra_frames after a few hundred bytes
  const craftedSize = 2 * 1024 * 1024;
  const prefix = Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x01]); // tag, then 2 MiB as a varint
  const bodyLength = before.length + prefix.length + craftedSize;
  const sent = Buffer.alloc(4096, Buffer.from([0x1a, 0x00]));
  // only the first 4 KiB of the item: unfixed, the server waits for the rest of the frame
  s.socket.write(Buffer.concat([frameHeader(FRAME.batch, 0, bodyLength), before, prefix, sent]));
  assert.deepEqual(await s.frame(), { type: FRAME.reply, status: 200, text: '{"accepted":1,"status":413}' });
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), '0');
  await s.closed;
});
