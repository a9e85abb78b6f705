// The shared listener helper (src/util/listen.ts) on real loopback sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { closeServer, listen, urlHost } from '../../src/util/listen.js';

test('listen resolves with the bound port, and rejects when the port is taken', async (t) => {
  const a = http.createServer();
  const port = await listen(a, 0, '127.0.0.1');
  t.after(() => closeServer(a));
  assert.ok(port > 0);
  const b = http.createServer();
  await assert.rejects(listen(b, port, '127.0.0.1'), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
});

test('closeServer cuts open keep-alive connections and resolves; a stopped server resolves at once', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  const port = await listen(server, 0, '127.0.0.1');
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const closedSocket = new Promise((r) => socket.once('close', r));
  await closeServer(server);
  await closedSocket;
  assert.equal(server.listening, false);
  await closeServer(server);
});

test('urlHost brackets IPv6 addresses only', () => {
  assert.equal(urlHost('::1'), '[::1]');
  assert.equal(urlHost('127.0.0.1'), '127.0.0.1');
});
