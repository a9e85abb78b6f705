// The floor: what moving bytes costs on this machine with no gateway code at all. Bare pumps in child
// processes (floor-child.ts) give CPU milliseconds per MiB for each side: ZeroMQ dealer → router over
// ipc, Node TLS with client certificates, and undici POSTing to a bare Node HTTPS server over HTTP/1.1
// and over HTTP/2. The gateway path is two ZeroMQ hops around one TLS hop, so no implementation on this
// Node and these cores can move more than
//   cores / (2 × (zmq send + zmq receive) + TLS send + TLS receive)   MiB/s
// even with every core fully used and nothing but those copies and that crypto; with the HTTP/1.1 pump
// as the middle hop, the same formula bounds a gateway that speaks HTTP through undici and Node. The
// report compares the `bytes-1m` target with both bounds; the HTTP/2 pump is there for the protocol choice.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { DemoPki } from '../pki/index.js';
import type { PumpSide } from './floor-child.js';
import { BIN_PATH, launcherCommand } from './process.js';

/** The built child (dist/), also when this module runs from src/ under a TypeScript loader, like BIN_PATH. */
const CHILD_PATH = path.resolve(path.dirname(BIN_PATH), '..', 'dist', 'bench', 'floor-child.js');

export interface PumpResult {
  /** payload MiB/s at the receiving side */
  mibPerS: number;
  sendCpuMsPerMiB: number;
  receiveCpuMsPerMiB: number;
}

export interface FloorResult {
  sizeBytes: number;
  cores: number;
  zeromq: PumpResult;
  tls: PumpResult;
  /**
   * undici POSTing bodies of 4 frames to a bare Node server with client certificates, 4 requests in
   * flight, over HTTP/1.1 (4 connections, as the gateway's client does) and over HTTP/2 (4 streams on
   * one connection).
   */
  http1: PumpResult;
  h2: PumpResult;
  /** CPU ms per MiB of two ZeroMQ hops and one TLS hop */
  gatewayPathCpuMsPerMiB: number;
  /** cores × 1000 / gatewayPathCpuMsPerMiB, in 10⁶ bytes/s like the run table's MB/s */
  ceilingMBPerS: number;
  /** the same bound with the HTTP/1.1 yardstick (undici → Node HTTPS) as the middle hop, as the gateway has */
  httpPathCpuMsPerMiB: number;
  httpCeilingMBPerS: number;
}

interface Child {
  /** resolves with the next JSON line the child prints */
  next(): Promise<Record<string, unknown>>;
  done: Promise<void>;
  /** SIGKILL if still running */
  kill(): void;
}

async function startChild(role: string, args: object): Promise<Child> {
  // the pumps run with the halves' allocator settings and heap flags, so the floor measures the same process
  const launcher = launcherCommand(await readFile(BIN_PATH, 'utf8'));
  const child = spawn(process.execPath, [...launcher.nodeFlags, CHILD_PATH, role, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...launcher.env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const done = new Promise<void>((resolve, reject) =>
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`floor ${role} exited with ${code}: ${stderr.trim()}`)),
    ),
  );
  done.catch(() => undefined); // a child killed after a failure elsewhere is not an unhandled rejection
  return {
    async next() {
      const line = await Promise.race([lines.next(), done.then(() => ({ done: true, value: undefined }))]);
      if (line.done || line.value === undefined) {
        await done; // rejects with the exit code and stderr when the child failed
        throw new Error(`floor ${role} ended without a result`);
      }
      return JSON.parse(line.value) as Record<string, unknown>;
    },
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function pump(send: PumpSide, receive: PumpSide): PumpResult {
  const mib = (b: number): number => b / (1024 * 1024);
  return {
    mibPerS: mib(receive.bytes) / receive.wallS,
    sendCpuMsPerMiB: (send.cpuS * 1000) / mib(send.bytes),
    receiveCpuMsPerMiB: (receive.cpuS * 1000) / mib(receive.bytes),
  };
}

/**
 * Starts the receiving end, waits for its first line (bound / listening on a port), starts the sending
 * end with arguments made from that line, and returns the pair's figures once both are done. Whatever is
 * still running when a step fails is killed: a failed pump must not leave its other end waiting forever.
 */
async function pumpPair(
  receiver: { role: string; args: object },
  sender: (ready: Record<string, unknown>) => { role: string; args: object },
): Promise<PumpResult> {
  const started: Child[] = [];
  try {
    const rx = await startChild(receiver.role, receiver.args);
    started.push(rx);
    const ready = await rx.next();
    const { role, args } = sender(ready);
    const tx = await startChild(role, args);
    started.push(tx);
    const [sent, received] = await Promise.all([tx.next(), rx.next()]);
    await Promise.all([tx.done, rx.done]);
    return pump(sent as unknown as PumpSide, received as unknown as PumpSide);
  } catch (err) {
    for (const c of started) c.kill();
    throw err;
  }
}

function zeromqPump(
  dir: string,
  sizeBytes: number,
  hwm: number,
  seconds: number,
  rate?: number,
): Promise<PumpResult> {
  const endpoint = `ipc://${path.join(dir, 'floor.ipc')}`;
  return pumpPair({ role: 'zmq-sink', args: { endpoint, hwm } }, () => ({
    role: 'zmq-source',
    args: { endpoint, hwm, size: sizeBytes, seconds, rate },
  }));
}

/** Requests in flight and frames per body of the HTTP pumps (the bench client's lanes; a small batch). */
const HTTP_LANES = 4;
const HTTP_CHUNKS = 4;

/** `tls` for bare TLS, `http1`/`h2` for undici POSTing to a Node server; both ends with our PKI's certificates. */
function tlsPairPump(
  pki: DemoPki,
  kind: 'tls' | 'http1' | 'h2',
  sizeBytes: number,
  seconds: number,
  rate?: number,
): Promise<PumpResult> {
  const http = kind !== 'tls';
  // at a fixed rate one message per request: the unbatched case the fixed-rate runs are about
  const proto = http ? { proto: kind, lanes: HTTP_LANES, chunks: rate ? 1 : HTTP_CHUNKS } : {};
  return pumpPair(
    {
      role: http ? 'http-server' : 'tls-server',
      args: { ...proto, cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
    },
    ({ port }) => ({
      role: http ? 'http-client' : 'tls-client',
      args: {
        ...proto,
        port,
        size: sizeBytes,
        seconds,
        rate,
        cert: pki.clientCert,
        key: pki.clientKey,
        ca: pki.caCert,
      },
    }),
  );
}

/** The bound for two ZeroMQ hops around `hop` (bare TLS, or HTTP over TLS). */
export function gatewayCeiling(
  zeromq: PumpResult,
  hop: PumpResult,
  cores: number,
): {
  cpuMsPerMiB: number;
  mbPerS: number;
} {
  const cpuMsPerMiB =
    2 * (zeromq.sendCpuMsPerMiB + zeromq.receiveCpuMsPerMiB) + hop.sendCpuMsPerMiB + hop.receiveCpuMsPerMiB;
  return { cpuMsPerMiB, mbPerS: (((cores * 1000) / cpuMsPerMiB) * (1024 * 1024)) / 1e6 };
}

export async function measureFloor(opts: {
  dir: string;
  pki: DemoPki;
  sizeBytes: number;
  hwm: number;
  seconds: number;
  cores?: number;
}): Promise<FloorResult> {
  const cores = opts.cores ?? os.availableParallelism();
  const zeromq = await zeromqPump(opts.dir, opts.sizeBytes, opts.hwm, opts.seconds);
  const tls = await tlsPairPump(opts.pki, 'tls', opts.sizeBytes, opts.seconds);
  const http1 = await tlsPairPump(opts.pki, 'http1', opts.sizeBytes, opts.seconds);
  const h2 = await tlsPairPump(opts.pki, 'h2', opts.sizeBytes, opts.seconds);
  const ceiling = gatewayCeiling(zeromq, tls, cores);
  const httpCeiling = gatewayCeiling(zeromq, http1, cores);
  return {
    sizeBytes: opts.sizeBytes,
    cores,
    zeromq,
    tls,
    http1,
    h2,
    gatewayPathCpuMsPerMiB: ceiling.cpuMsPerMiB,
    ceilingMBPerS: ceiling.mbPerS,
    httpPathCpuMsPerMiB: httpCeiling.cpuMsPerMiB,
    httpCeilingMBPerS: httpCeiling.mbPerS,
  };
}

/** The pumps of one hop at a fixed rate, as CPU µs per message of each side. */
export interface RatePump {
  mibPerS: number;
  sendCpuUsPerMsg: number;
  receiveCpuUsPerMsg: number;
}

/**
 * The fixed-rate floor: each pump moving `sizeBytes` messages at `rate` per second (ZeroMQ frames, TLS
 * writes, one-message HTTP/1.1 requests with 4 in flight), to set each half's CPU per message against
 * what its hops cost at the same size and rate with no gateway code.
 */
export interface RateFloor {
  sizeBytes: number;
  rate: number;
  zeromq: RatePump;
  tls: RatePump;
  http1: RatePump;
}

export function perMessage(p: PumpResult, sizeBytes: number): RatePump {
  const mibPerMsg = sizeBytes / (1024 * 1024);
  return {
    mibPerS: p.mibPerS,
    sendCpuUsPerMsg: p.sendCpuMsPerMiB * mibPerMsg * 1000,
    receiveCpuUsPerMsg: p.receiveCpuMsPerMiB * mibPerMsg * 1000,
  };
}

export async function measureRateFloor(opts: {
  dir: string;
  pki: DemoPki;
  sizeBytes: number;
  hwm: number;
  seconds: number;
  rate: number;
}): Promise<RateFloor> {
  const { sizeBytes, rate, seconds } = opts;
  const zeromq = await zeromqPump(opts.dir, sizeBytes, opts.hwm, seconds, rate);
  const tls = await tlsPairPump(opts.pki, 'tls', sizeBytes, seconds, rate);
  const http1 = await tlsPairPump(opts.pki, 'http1', sizeBytes, seconds, rate);
  return {
    sizeBytes,
    rate,
    zeromq: perMessage(zeromq, sizeBytes),
    tls: perMessage(tls, sizeBytes),
    http1: perMessage(http1, sizeBytes),
  };
}

/**
 * What a half's hops cost at a fixed rate: the client receives from ZeroMQ and sends over the middle hop,
 * the server receives from the middle hop and sends to ZeroMQ.
 */
export function halfFloorUs(f: RateFloor, half: 'client' | 'server', middle: 'http1' | 'tls'): number {
  return half === 'client'
    ? f.zeromq.receiveCpuUsPerMsg + f[middle].sendCpuUsPerMsg
    : f[middle].receiveCpuUsPerMsg + f.zeromq.sendCpuUsPerMsg;
}
