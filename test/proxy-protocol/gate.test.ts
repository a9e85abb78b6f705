// The PROXY protocol gate (src/proxy-protocol/gate.ts) in front of a real gateway, with raw loopback peers
// playing the balancer: the header is read before TLS and HTTP, the client's address it names is the one
// logged, limited and quarantined, and every header that should not be believed is refused, one bad
// connection never holding up another.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/limits.js';
import type { ProxyProtocolConfig, ServerLimits, ServerTlsConfig } from '../../src/config/types.js';
import { proxyProtocolRefusedTotal } from '../../src/proxy-protocol/gate.js';
import { connectionsRefusedTotal, openConnections } from '../../src/limits/metrics.js';
import { isTrusted, trustedNetworks } from '../../src/proxy-protocol/networks.js';
import { buildLabPki, type LabPki, type Leaf } from '../helpers/openssl-pki.js';
import { startEtcd } from '../helpers/etcd.js';
import { VECTORS, basic, basicConfig } from '../helpers/basic-auth.js';
import { captureLog } from '../helpers/log-capture.js';
import { current } from '../metrics/prom.js';
import { gatewayToRouter } from '../server/fixtures.js';
import { v1Header, v2Header } from './encode.js';

let lab: LabPki;
let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-proxy-gate-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

function mtls(): ServerTlsConfig {
  const dir = mkdtempSync(path.join(base, 'trust-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(dir, `${lab.inter.hash}.0`), lab.inter.certPem);
  writeFileSync(path.join(dir, `${lab.root.hash}.r0`), lab.crl(lab.root));
  writeFileSync(path.join(dir, `${lab.inter.hash}.r0`), lab.crl(lab.inter, { revoke: ['revoked'] }));
  return {
    certificate: lab.server.certFile,
    key: lab.server.keyFile,
    clientAuth: { directory: dir, crlEnabled: true, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
  };
}

const proxy = (over: Partial<ProxyProtocolConfig> = {}): ProxyProtocolConfig => ({
  trusted: ['127.0.0.1/32'],
  required: true,
  headerTimeoutMs: 3000,
  ...over,
});
const limits = (over: Partial<ServerLimits> = {}): ServerLimits => ({ ...DEFAULT_SERVER_LIMITS, ...over });
const refused = (reason: string) => current(proxyProtocolRefusedTotal, { reason });

/** A TCP connection from `localAddress` that first sends `preamble` (the balancer's header). */
async function balancerSocket(
  port: number,
  preamble: Buffer,
  localAddress = '127.0.0.1',
): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  await once(socket, 'connect');
  if (preamble.length > 0) socket.write(preamble);
  return socket;
}

/** One HTTP request over a connection that starts with `preamble`; TLS on top when `tlsAs` is given. */
async function viaBalancer(
  port: number,
  preamble: Buffer,
  opts: {
    tlsAs?: Leaf;
    localAddress?: string;
    headers?: http.OutgoingHttpHeaders;
    path?: string;
    method?: string;
  } = {},
): Promise<{ status: number; body: string }> {
  const raw = await balancerSocket(port, preamble, opts.localAddress);
  const socket = opts.tlsAs
    ? tls.connect({
        socket: raw,
        ca: lab.server.certPem,
        servername: 'localhost',
        cert: opts.tlsAs.chainPem,
        key: opts.tlsAs.keyPem,
      })
    : raw;
  return new Promise((resolve, reject) => {
    const req = http.request({
      method: opts.method ?? 'GET',
      path: opts.path ?? '/health',
      headers: opts.headers,
      createConnection: () => socket,
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with what the server sent once it closed the connection. */
async function closedWith(socket: net.Socket): Promise<string> {
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => undefined);
  if (!socket.closed) await once(socket, 'close');
  return text;
}

const v2 = (client: string, port = 40000) =>
  v2Header({
    family: net.isIPv6(client) ? 'inet6' : 'inet',
    source: [client, port],
    destination: [net.isIPv6(client) ? '::1' : '127.0.0.1', 443],
  });

test('TLS behind a v2 header: the request is served, and a rejected certificate is logged with the client address and the balancer', async (t) => {
  const log = captureLog(t);
  const { server } = await gatewayToRouter(t, { tls: mtls(), proxyProtocol: proxy() });
  const ok = await viaBalancer(server.port, v2('203.0.113.5'), { tlsAs: lab.clients.good });
  assert.equal(ok.status, 200);
  await viaBalancer(server.port, v2('203.0.113.66'), { tlsAs: lab.clients.revoked }).catch(() => undefined);
  const lines = log.matching(/client certificate rejected/);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /remote=203\.0\.113\.66\b/);
  assert.match(lines[0], /via=127\.0\.0\.1\b/);
});

test('TLS behind a v1 header, IPv4 and IPv6 clients', async (t) => {
  const log = captureLog(t);
  const { server } = await gatewayToRouter(t, { tls: mtls(), proxyProtocol: proxy() });
  assert.equal(
    (await viaBalancer(server.port, v1Header('198.51.100.4', 5000), { tlsAs: lab.clients.good })).status,
    200,
  );
  await viaBalancer(server.port, v1Header('2001:db8::77', 5001), { tlsAs: lab.clients.revoked }).catch(
    () => undefined,
  );
  assert.match(log.matching(/client certificate rejected/).join('\n'), /remote=2001:db8::77\b/);
});

test('a header from an untrusted peer is refused; that peer without a header is served when not required', async (t) => {
  const { server } = await gatewayToRouter(t, {
    proxyProtocol: proxy({ trusted: ['127.0.0.2'], required: false }),
  });
  const before = await refused('untrusted');
  const lying = await balancerSocket(server.port, v1Header('10.9.9.9', 1));
  lying.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(await closedWith(lying), '');
  assert.equal(await refused('untrusted'), before + 1);
  assert.equal((await viaBalancer(server.port, Buffer.alloc(0))).status, 200);
  // the trusted balancer's header is believed
  assert.equal((await viaBalancer(server.port, v2('10.1.1.1'), { localAddress: '127.0.0.2' })).status, 200);
});

test('required: an untrusted peer is refused at once, a trusted one without a header as soon as its first bytes disagree', async (t) => {
  const { server } = await gatewayToRouter(t, { proxyProtocol: proxy({ trusted: ['127.0.0.2/32'] }) });
  const untrusted = await refused('untrusted');
  const stranger = await balancerSocket(server.port, Buffer.alloc(0));
  assert.equal(await closedWith(stranger), '');
  assert.equal(await refused('untrusted'), untrusted + 1);
  const missing = await refused('missing');
  const bare = await balancerSocket(server.port, Buffer.from('GET /health HTTP/1.1\r\n\r\n'), '127.0.0.2');
  assert.equal(await closedWith(bare), '');
  assert.equal(await refused('missing'), missing + 1);
});

test('malformed and truncated headers are refused; a header that never completes is cut at header_timeout while others are served', async (t) => {
  // 2 s, not less: the connection that goes through meanwhile must get its header read within it, and a
  // loaded machine can hold this process's event loop for longer than a few hundred ms
  const { server } = await gatewayToRouter(t, { proxyProtocol: proxy({ headerTimeoutMs: 2000 }) });
  const malformed = await refused('malformed');
  const bad = await balancerSocket(server.port, Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'));
  assert.equal(await closedWith(bad), '');
  const oversize = await balancerSocket(
    server.port,
    Buffer.concat([v2Header({ family: 'unspec' }).subarray(0, 14), Buffer.from([0x20, 0x00])]),
  );
  assert.equal(await closedWith(oversize), '');
  assert.equal(await refused('malformed'), malformed + 2);

  const truncated = await refused('truncated');
  const cut = await balancerSocket(server.port, v2('192.0.2.1').subarray(0, 20));
  cut.end();
  assert.equal(await closedWith(cut), '');
  assert.equal(await refused('truncated'), truncated + 1);

  const timeouts = await refused('timeout');
  const slow = await balancerSocket(server.port, Buffer.from('PROXY TCP4 1.2.3.4'));
  const slowClosed = closedWith(slow);
  const started = Date.now();
  // meanwhile another connection goes through untouched
  assert.equal((await viaBalancer(server.port, v2('192.0.2.2'))).status, 200);
  assert.equal(await slowClosed, '');
  assert.ok(Date.now() - started >= 1950, 'cut by the timer, not earlier');
  assert.equal(await refused('timeout'), timeouts + 1);
});

test("LOCAL (a health check by the balancer) is served under the balancer's own address", async (t) => {
  const { server } = await gatewayToRouter(t, { proxyProtocol: proxy() });
  assert.equal(
    (await viaBalancer(server.port, v2Header({ command: 'local', family: 'unspec' }))).status,
    200,
  );
});

test('the per-address connection limit counts the client address of the header, not the balancer', async (t) => {
  const { server } = await gatewayToRouter(t, {
    proxyProtocol: proxy(),
    limits: limits({ maxConnectionsPerAddress: 1 }),
  });
  const held = await balancerSocket(server.port, v2('192.0.2.10'));
  held.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  await once(held, 'data');
  const second = await balancerSocket(server.port, v2('192.0.2.10', 40001));
  second.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(await closedWith(second), '', 'a second connection of the same client is refused');
  // another client through the same balancer still gets in
  assert.equal((await viaBalancer(server.port, v2('192.0.2.11'))).status, 200);
  held.destroy();
});

test('the quarantine key is the client address of the header: one client locked out, another behind the same balancer not', async (t) => {
  const log = captureLog(t);
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/user1').value(JSON.stringify({ password_hash: VECTORS['password1'] }));
  const { server } = await gatewayToRouter(t, {
    proxyProtocol: proxy(),
    auth: { basic: basicConfig(etcd, { quarantine: { failedAttemptLimit: 2, periodMs: 60_000 } }) },
  });
  const post = (client: string, password: string) =>
    viaBalancer(server.port, v2(client), {
      method: 'POST',
      path: '/',
      headers: { Authorization: basic('user1', password), 'Content-Type': 'application/protobuf' },
    });
  const attacker = '198.51.100.66';
  for (let i = 0; i < 2; i++) assert.equal((await post(attacker, 'wrong')).status, 401);
  // locked out even with the right password now
  assert.equal((await post(attacker, 'password1')).status, 401);
  // the same user from another client behind the same balancer is not; an empty body is a 400 past auth
  assert.equal((await post('198.51.100.7', 'password1')).status, 400);
  assert.match(log.matching(/user quarantined/).join('\n'), /remote=198\.51\.100\.66\b/);
});

test('an IPv6 balancer (::1) is trusted by its /128; an IPv4 peer is not trusted by an IPv6 network', async (t) => {
  const { server } = await gatewayToRouter(t, { ip: '::1', proxyProtocol: proxy({ trusted: ['::1/128'] }) });
  const over6 = async (preamble: Buffer) => {
    const socket = net.connect({ port: server.port, host: '::1' });
    await once(socket, 'connect');
    socket.write(preamble);
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    return closedWith(socket);
  };
  assert.match(await over6(v2('2001:db8::9')), /^HTTP\/1\.1 200/);
  const list = trustedNetworks(['::1/128']);
  assert.equal(isTrusted(list, '127.0.0.1'), false);
  assert.equal(isTrusted(list, '::1'), true);
  assert.equal(
    isTrusted(trustedNetworks(['10.0.0.0/8']), '::ffff:10.1.2.3'),
    true,
    'IPv4-mapped checked as IPv4',
  );
});

/** Opens `count` connections from `localAddress` that each send `bytes` and stall; resolves once `closed` of them were closed by the server. */
async function stalled(port: number, count: number, bytes: Buffer, localAddress: string, closed: number) {
  const sockets = await Promise.all(
    Array.from({ length: count }, () => balancerSocket(port, bytes, localAddress)),
  );
  let n = 0;
  await new Promise<void>((resolve) => {
    for (const s of sockets) {
      s.on('error', () => undefined);
      s.once('close', () => {
        if (++n === closed) resolve();
      });
    }
  });
  return { sockets, open: () => sockets.filter((s) => !s.closed).length };
}

test(
  'header phase: one untrusted peer holds no more than max_connections_per_address slots, and waiting connections count as open',
  { timeout: 60_000 },
  async (t) => {
    const { server } = await gatewayToRouter(t, {
      proxyProtocol: proxy({ trusted: ['127.0.0.2/32'], required: false, headerTimeoutMs: 60_000 }),
      limits: limits({ maxConnections: 20, maxConnectionsPerAddress: 2 }),
    });
    const perAddress = await current(connectionsRefusedTotal, { reason: 'per_address' });
    // 'P' could start a v1 header: each waits for more; all but two are refused at once, not at the timeout
    const flood = await stalled(server.port, 8, Buffer.from('P'), '127.0.0.1', 6);
    t.after(() => flood.sockets.forEach((s) => s.destroy()));
    assert.equal(flood.open(), 2);
    assert.equal(await current(connectionsRefusedTotal, { reason: 'per_address' }), perAddress + 6);
    assert.equal(await current(openConnections), 2, 'the waiting connections are open connections');
    assert.equal(
      (await viaBalancer(server.port, Buffer.alloc(0), { localAddress: '127.0.0.3' })).status,
      200,
    );
  },
);

test(
  'header phase: a trusted balancer that stalls is held to max_connections_per_address waiting connections too',
  { timeout: 60_000 },
  async (t) => {
    const { server } = await gatewayToRouter(t, {
      proxyProtocol: proxy({ trusted: ['127.0.0.0/8'], headerTimeoutMs: 60_000 }),
      limits: limits({ maxConnections: 20, maxConnectionsPerAddress: 2 }),
    });
    const partial = v2('192.0.2.50').subarray(0, 10);
    const flood = await stalled(server.port, 6, partial, '127.0.0.1', 4);
    t.after(() => flood.sockets.forEach((s) => s.destroy()));
    assert.equal(flood.open(), 2);
    // another balancer address is not affected, and the stalled ones released nothing they did not hold
    assert.equal(
      (await viaBalancer(server.port, v2('192.0.2.51'), { localAddress: '127.0.0.4' })).status,
      200,
    );
  },
);
