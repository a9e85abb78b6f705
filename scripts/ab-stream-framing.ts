// Scratch A/B for the client<->server framing: CPU per MiB on each side of an mTLS loopback hop for
// (a) undici POSTing batch bodies (items back to back, Content-Length) to a Node https server that
//     copies each body into one buffer of its length, as the gateway's batch path does, and
// (b) an HTTP/1.1 Upgrade handshake and then length-prefixed frames on the same TLS socket, the server
//     copying each frame into a buffer of its length and writing a small ack per frame.
// Each variant runs as a fresh pair of child processes; rounds alternate a, b, a, b ...
//   node --import tsx scripts/ab-stream-framing.ts --size 1m --items 8 --mib 512 --rounds 4
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { makePki } from '../src/pki/index.js';
import { parseSize } from '../src/bench/options.js';

interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}
interface ChildArgs {
  role: string;
  size: number;
  items: number;
  mib: number;
  lanes: number;
  port?: number;
  pki: Pki;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const emit = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

function listen(server: tls.Server | https.Server): void {
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    emit({ port: typeof a === 'object' && a ? a.port : 0 });
  });
}

function serverTls(p: Pki): tls.TlsOptions {
  return {
    cert: readFileSync(p.serverCert),
    key: readFileSync(p.serverKey),
    ca: readFileSync(p.caCert),
    requestCert: true,
    rejectUnauthorized: true,
  };
}
function clientTls(p: Pki): tls.ConnectionOptions {
  return { cert: readFileSync(p.clientCert), key: readFileSync(p.clientKey), ca: readFileSync(p.caCert) };
}

/** Server of (a): one buffer per body, like a batch split in place. Reports after `total` bytes. */
function postServer(a: ChildArgs): void {
  const total = a.mib * 1024 * 1024;
  let bytes = 0;
  let start = 0;
  const server = https.createServer(serverTls(a.pki), (req, res) => {
    const len = Number(req.headers['content-length']);
    const body = Buffer.allocUnsafe(len);
    let at = 0;
    req.on('data', (c: Buffer) => {
      if (bytes === 0 && at === 0) start = cpuMs();
      c.copy(body, at);
      at += c.length;
    });
    req.on('end', () => {
      bytes += at;
      const acks = Buffer.alloc(a.items * 4);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': acks.length });
      res.end(acks);
      if (bytes >= total) {
        emit({ side: 'server', msPerMiB: (cpuMs() - start) / (bytes / 1048576) });
        setImmediate(() => process.exit(0));
      }
    });
  });
  listen(server);
}

async function postClient(a: ChildArgs): Promise<void> {
  const pool = new Pool(`https://127.0.0.1:${a.port!}`, {
    connections: a.lanes,
    pipelining: 1,
    connect: clientTls(a.pki),
  });
  const total = a.mib * 1024 * 1024;
  let sent = 0;
  let start = 0;
  const lane = async (): Promise<void> => {
    while (sent < total) {
      const chunks = Array.from({ length: a.items }, () => Buffer.alloc(a.size));
      const len = a.size * a.items;
      sent += len;
      if (start === 0) start = cpuMs();
      const res = await pool.request({
        method: 'POST',
        path: '/batch',
        headers: { 'content-length': String(len) },
        body: chunks.length === 1 ? chunks[0] : (await import('node:stream')).Readable.from(chunks),
      });
      await res.body.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: a.lanes }, lane));
  emit({ side: 'client', msPerMiB: (cpuMs() - start) / (sent / 1048576) });
  await pool.close();
}

/** Server of (b): upgrade, then frames `u32 length | bytes`, one 4-byte ack per frame. */
function streamServer(a: ChildArgs): void {
  const total = a.mib * 1024 * 1024;
  let bytes = 0;
  let start = 0;
  const server = https.createServer(serverTls(a.pki), (_req, res) => {
    res.writeHead(404);
    res.end();
  });
  server.on('upgrade', (_req, socket: tls.TLSSocket, head: Buffer) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x-stream/1\r\n\r\n');
    let header = Buffer.alloc(0);
    let item: Buffer | null = null;
    let at = 0;
    const onData = (c: Buffer): void => {
      if (start === 0) start = cpuMs();
      let off = 0;
      while (off < c.length) {
        if (!item) {
          const need = 4 - header.length;
          header = Buffer.concat([header, c.subarray(off, off + need)]);
          off += Math.min(need, c.length - off);
          if (header.length < 4) return;
          item = Buffer.allocUnsafe(header.readUInt32BE(0));
          header = Buffer.alloc(0);
          at = 0;
        }
        const n = Math.min(item.length - at, c.length - off);
        c.copy(item, at, off, off + n);
        at += n;
        off += n;
        if (at === item.length) {
          bytes += item.length;
          item = null;
          socket.write(Buffer.alloc(4));
          if (bytes >= total) {
            emit({ side: 'server', msPerMiB: (cpuMs() - start) / (bytes / 1048576) });
            setImmediate(() => process.exit(0));
          }
        }
      }
    };
    if (head.length) onData(head);
    socket.on('data', onData);
  });
  listen(server);
}

function streamLane(a: ChildArgs, counter: { sent: number; start: number }): Promise<void> {
  const total = a.mib * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...clientTls(a.pki), host: '127.0.0.1', port: a.port! }, () => {
      socket.write(
        'GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: x-stream/1\r\n\r\n',
      );
    });
    socket.on('error', reject);
    let upgraded = false;
    let acks = 0;
    let pending = 0;
    const sendBatch = (): void => {
      if (counter.sent >= total) {
        socket.end();
        resolve();
        return;
      }
      if (counter.start === 0) counter.start = cpuMs();
      for (let i = 0; i < a.items; i++) {
        const frame = Buffer.alloc(a.size);
        const h = Buffer.allocUnsafe(4);
        h.writeUInt32BE(a.size, 0);
        socket.write(h);
        socket.write(frame);
        counter.sent += a.size;
      }
      pending = a.items;
    };
    socket.on('data', (c: Buffer) => {
      if (!upgraded) {
        const i = c.indexOf('\r\n\r\n');
        if (i < 0) return;
        upgraded = true;
        c = c.subarray(i + 4);
        sendBatch();
      }
      acks += c.length;
      while (acks >= 4 && pending > 0) {
        acks -= 4;
        pending--;
      }
      if (pending === 0 && upgraded) sendBatch();
    });
  });
}

async function streamClient(a: ChildArgs): Promise<void> {
  const counter = { sent: 0, start: 0 };
  await Promise.all(Array.from({ length: a.lanes }, () => streamLane(a, counter)));
  emit({ side: 'client', msPerMiB: (cpuMs() - counter.start) / (counter.sent / 1048576) });
}

function runChild(args: ChildArgs): {
  lines: AsyncGenerator<Record<string, number | string>>;
  done: Promise<void>;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify(args)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const queue: Record<string, number | string>[] = [];
  let wake: (() => void) | null = null;
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      queue.push(JSON.parse(buf.slice(0, i)) as Record<string, number | string>);
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  const done = new Promise<void>((r) => child.on('exit', () => r()));
  async function* lines(): AsyncGenerator<Record<string, number | string>> {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      await new Promise<void>((r) => (wake = r));
    }
  }
  return { lines: lines(), done };
}

async function round(variant: 'a' | 'b', base: Omit<ChildArgs, 'role'>): Promise<{ c: number; s: number }> {
  const srv = runChild({ ...base, role: variant === 'a' ? 'post-server' : 'stream-server' });
  const port = (await srv.lines.next()).value!.port as number;
  const cli = runChild({ ...base, port, role: variant === 'a' ? 'post-client' : 'stream-client' });
  const c = (await cli.lines.next()).value!.msPerMiB as number;
  const s = (await srv.lines.next()).value!.msPerMiB as number;
  await Promise.all([cli.done, srv.done]);
  return { c, s };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      size: { type: 'string', default: '1m' },
      items: { type: 'string', default: '8' },
      mib: { type: 'string', default: '512' },
      lanes: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '4' },
    },
  });
  if (values.child) {
    const a = JSON.parse(values.child) as ChildArgs;
    const roles: Record<string, (a: ChildArgs) => void | Promise<void>> = {
      'post-server': postServer,
      'post-client': postClient,
      'stream-server': streamServer,
      'stream-client': streamClient,
    };
    await roles[a.role](a);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ab-stream-'));
  try {
    const pki = await makePki(path.join(dir, 'pki'));
    const base = {
      size: parseSize(values.size),
      items: Number(values.items),
      mib: Number(values.mib),
      lanes: Number(values.lanes),
      pki,
    };
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const v of ['a', 'b'] as const) {
        const { c, s } = await round(v, base);
        console.log(
          `round ${r} ${v === 'a' ? 'POST /batch' : 'upgrade+frames'}: client ${c.toFixed(3)} ms/MiB, server ${s.toFixed(3)} ms/MiB, sum ${(c + s).toFixed(3)}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
