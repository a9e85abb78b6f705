// Entry point of the floor measurement's child processes (see floor.ts): one end of a bare byte pump,
// either ZeroMQ (dealer → router over ipc, like the benchmark's source and sink), Node's TLS with
// client certificates (like the gateway's HTTPS hop), or undici POSTing to a bare Node server over
// HTTP/1.1 or HTTP/2 (the yardstick for choosing the protocol), with no gateway code in between. Each
// child prints JSON lines: `{"port": N}` when a server is listening, `{"ready": true}` when the
// ZeroMQ sink is bound, and a PumpSide result when its side is done.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { Pool } from 'undici';
import * as zmq from 'zeromq';

export interface PumpSide {
  role: string;
  /** payload bytes this side moved */
  bytes: number;
  /** user + system CPU seconds of the whole process (all threads) while it moved them */
  cpuS: number;
  wallS: number;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function emit(obj: object): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Counts from the first byte, so connection set-up and the handshake are not part of the figure. */
class Meter {
  bytes = 0;
  private startWall = 0;
  private startCpu = 0;

  add(n: number): void {
    if (this.bytes === 0) {
      this.startWall = performance.now();
      this.startCpu = cpuSeconds();
    }
    this.bytes += n;
  }

  result(role: string): PumpSide {
    return {
      role,
      bytes: this.bytes,
      cpuS: cpuSeconds() - this.startCpu,
      wallS: (performance.now() - this.startWall) / 1000,
    };
  }
}

interface Args {
  endpoint?: string;
  hwm?: number;
  size?: number;
  seconds?: number;
  port?: number;
  /** http pumps: 'http1' or 'h2' */
  proto?: string;
  /** http pumps: requests in flight at once */
  lanes?: number;
  /** http pumps: chunks of `size` per request body */
  chunks?: number;
  /** sending sides: messages (frames, writes, requests) per second; absent = as fast as possible */
  rate?: number;
  cert?: string;
  key?: string;
  ca?: string;
}

/** Server side of a TLS pump: our server certificate, client certificates required. */
function serverTls(a: Args): tls.TlsOptions {
  return {
    cert: readFileSync(a.cert!),
    key: readFileSync(a.key!),
    ca: readFileSync(a.ca!),
    requestCert: true,
    rejectUnauthorized: true,
  };
}

/** Client side of a TLS pump: our client certificate, the server checked against our CA. */
function clientTls(a: Args): tls.ConnectionOptions {
  return { cert: readFileSync(a.cert!), key: readFileSync(a.key!), ca: readFileSync(a.ca!) };
}

/** Prints the port once `server` listens on a free one. */
function listenAndReport(server: net.Server): void {
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    emit({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `step` until `seconds` have passed: back to back, or at `rate` per second on a fixed schedule
 * (the benchmark source's pacing: the steps due are sent, then the loop sleeps until the next one).
 */
async function paced(a: Args, step: () => Promise<void>): Promise<void> {
  const start = performance.now();
  const end = start + a.seconds! * 1000;
  if (!a.rate) {
    while (performance.now() < end) await step();
    return;
  }
  const interval = 1000 / a.rate;
  let n = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.floor((now - start) / interval) + 1;
    for (; n < due; n++) await step();
    const next = start + n * interval - performance.now();
    if (next > 0) await sleep(next);
  }
}

/** A one-byte frame ends the ZeroMQ pump (the measured frames are at least 16 bytes). */
const SENTINEL = Buffer.alloc(1);

async function zmqSink(a: Args): Promise<void> {
  const sock = new zmq.Router({ receiveHighWaterMark: a.hwm!, linger: 0 });
  await sock.bind(a.endpoint!);
  emit({ ready: true });
  const meter = new Meter();
  for (;;) {
    const [, , frame] = await sock.receive();
    if (frame.length === SENTINEL.length) break;
    meter.add(frame.length);
  }
  emit(meter.result('zeromq-receive'));
  sock.close();
}

async function zmqSource(a: Args): Promise<void> {
  const sock = new zmq.Dealer({ sendHighWaterMark: a.hwm!, linger: 0 });
  sock.connect(a.endpoint!);
  const topic = Buffer.from('floor');
  const meter = new Meter();
  await paced(a, async () => {
    // a fresh frame per message, like the benchmark's source
    const frame = Buffer.alloc(a.size!);
    meter.add(frame.length);
    await sock.send([topic, frame]);
  });
  const result = meter.result('zeromq-send');
  await sock.send([topic, SENTINEL]);
  emit(result);
  // linger 0 would drop the sentinel: give the IO thread time to hand it over
  sock.linger = 2000;
  sock.close();
}

function tlsServer(a: Args): void {
  const server = tls.createServer(serverTls(a), (socket) => {
    const meter = new Meter();
    socket.on('data', (chunk: Buffer) => meter.add(chunk.length));
    socket.on('end', () => {
      emit(meter.result('tls-receive'));
      socket.end();
      server.close();
    });
  });
  listenAndReport(server);
}

function tlsClient(a: Args): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...clientTls(a), host: '127.0.0.1', port: a.port! }, async () => {
      const meter = new Meter();
      await paced(a, async () => {
        const chunk = Buffer.alloc(a.size!);
        meter.add(chunk.length);
        if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
      });
      emit(meter.result('tls-send'));
      socket.end();
      socket.once('close', () => resolve());
    });
    socket.on('error', reject);
  });
}

/** Path the client POSTs to once it is done, so that the server reports and exits. */
const DONE_PATH = '/done';

function httpServer(a: Args): void {
  const meter = new Meter();
  const tlsOptions = serverTls(a);
  const handler = (
    req: IncomingMessage | http2.Http2ServerRequest,
    res: ServerResponse | http2.Http2ServerResponse,
  ): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      meter.add(c.length);
      chunks.push(c);
    });
    req.on('end', () => {
      Buffer.concat(chunks); // the gateway's server assembles each body, too
      res.writeHead(200);
      res.end();
      if (req.url === DONE_PATH) {
        emit(meter.result(`${a.proto}-receive`));
        setImmediate(() => process.exit(0));
      }
    });
  };
  const server =
    a.proto === 'h2'
      ? http2.createSecureServer({ ...tlsOptions, settings: { initialWindowSize: 8 * 1024 * 1024 } }, handler)
      : https.createServer(tlsOptions, handler);
  listenAndReport(server);
}

async function httpClient(a: Args): Promise<void> {
  const h2 = a.proto === 'h2';
  const pool = new Pool(`https://127.0.0.1:${a.port!}`, {
    // HTTP/1.1: one connection per lane, like the gateway's client; HTTP/2: the lanes as streams of one
    connections: h2 ? 1 : a.lanes!,
    pipelining: 1,
    allowH2: h2,
    connect: clientTls(a),
  });
  const meter = new Meter();
  const end = performance.now() + a.seconds! * 1000;
  const post = async (path: string, chunks: Buffer[]): Promise<void> => {
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const res = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-length': String(length) },
      body: length > 0 ? Readable.from(chunks, { objectMode: false }) : '',
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`POST ${path}: HTTP ${res.statusCode}`);
  };
  const body = (): Buffer[] => {
    const chunks = Array.from({ length: a.chunks! }, () => Buffer.alloc(a.size!));
    for (const c of chunks) meter.add(c.length);
    return chunks;
  };
  if (a.rate) {
    // one request per step, at most `lanes` in flight (a step waits for a free lane)
    const inFlight = new Set<Promise<void>>();
    await paced(a, async () => {
      if (inFlight.size >= a.lanes!) await Promise.race(inFlight);
      const p: Promise<void> = post('/', body()).finally(() => inFlight.delete(p));
      inFlight.add(p);
    });
    await Promise.all(inFlight);
  } else {
    const lane = async (): Promise<void> => {
      while (performance.now() < end) await post('/', body());
    };
    await Promise.all(Array.from({ length: a.lanes! }, lane));
  }
  emit(meter.result(`${a.proto}-send`));
  await post(DONE_PATH, []);
  await pool.close();
}

const roles: Record<string, (a: Args) => void | Promise<void>> = {
  'zmq-sink': zmqSink,
  'zmq-source': zmqSource,
  'tls-server': tlsServer,
  'tls-client': tlsClient,
  'http-server': httpServer,
  'http-client': httpClient,
};

const [role, json] = process.argv.slice(2);
const fn = roles[role];
if (!fn) {
  process.stderr.write(`floor-child: unknown role '${role}' (expected ${Object.keys(roles).join(', ')})\n`);
  process.exit(2);
}
Promise.resolve(fn(JSON.parse(json ?? '{}') as Args)).catch((err: unknown) => {
  process.stderr.write(`floor-child ${role}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
