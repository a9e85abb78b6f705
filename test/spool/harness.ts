// Real processes for the spool tests: the gateway server and client run as the built CLI (so they can be
// stopped and killed -9 like in production), the Savant source and sink are real ZeroMQ sockets in the test
// process, and /health and /metrics are read over loopback HTTP.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { buildMessage } from '../../src/savant/message.js';
import type { SpoolMessage } from '../../src/spool/index.js';
import { SavantReader } from '../../src/savant/reader.js';
import { SavantWriter } from '../../src/savant/writer.js';
import { startCli } from '../helpers/cli.js';
import { freeStablePort } from '../helpers/net.js';

type T = { after(fn: () => unknown): void };

const secs = (ms: number) => ({ secs: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

export interface Layout {
  dir: string;
  spoolDir: string;
  /** the client's reader endpoint a source connects to */
  sourceEndpoint: string;
  /** the sink's endpoint the server's writer connects to */
  sinkEndpoint: string;
  serverPort: number;
  clientPort: number;
  serverConfig: string;
  clientConfig: string;
}

export async function layout(
  dir: string,
  opts: {
    reader: 'router' | 'rep';
    ack?: 'on_read' | 'on_persist' | 'on_delivery';
    spool: Record<string, unknown>;
    inflightOps?: number;
    transport?: Record<string, unknown>;
    spoolDir?: string;
  },
): Promise<Layout> {
  // both halves are stopped and started again on their ports (outage, kill -9): ports no other test is handed
  const serverPort = await freeStablePort();
  const clientPort = await freeStablePort();
  const sourceEndpoint = `ipc://${path.join(dir, 'in')}`;
  const sinkEndpoint = `ipc://${path.join(dir, 'out')}`;
  const spoolDir = opts.spoolDir ?? path.join(dir, 'spool');
  const serverConfig = path.join(dir, 'server.json');
  const clientConfig = path.join(dir, 'client.json');
  await writeFile(
    serverConfig,
    JSON.stringify({
      ip: '127.0.0.1',
      port: serverPort,
      out_stream: {
        url: `dealer+connect:${sinkEndpoint}`,
        send_timeout: secs(2000),
        send_retries: 3,
        receive_timeout: secs(2000),
        receive_retries: 3,
        send_hwm: 1000,
        receive_hwm: 1000,
      },
    }),
  );
  await writeFile(
    clientConfig,
    JSON.stringify({
      ip: '127.0.0.1',
      port: clientPort,
      url: `http://127.0.0.1:${serverPort}`,
      in_stream: {
        url: `${opts.reader}+bind:${sourceEndpoint}`,
        receive_timeout: secs(100),
        receive_hwm: 1000,
        topic_prefix_spec: { none: null },
        source_cache_size: 100,
        inflight_ops: opts.inflightOps ?? 100,
        ack: opts.ack ?? 'on_read',
      },
      retry_strategy: {
        exponential: { initial_delay: secs(5), maximum_delay: secs(200), multiplier: 2 },
      },
      dead_letter_dir: path.join(dir, 'dead-letter'),
      shutdown_timeout: secs(1000),
      transport: { mode: 'auto', lanes: 2, ...opts.transport },
      spool: { dir: spoolDir, ...opts.spool },
    }),
  );
  return { dir, spoolDir, sourceEndpoint, sinkEndpoint, serverPort, clientPort, serverConfig, clientConfig };
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  waitForOutput: (re: RegExp, timeoutMs?: number) => Promise<string>;
  /** resolves with the exit code (or signal) once the process is gone */
  exited: Promise<number | string>;
}

function start(t: T, args: string[]): Proc {
  const p = startCli(t, args, { env: { LOG_LEVEL: 'info' } });
  const exited = new Promise<number | string>((resolve) =>
    p.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { ...p, exited };
}

export async function startServerProc(t: T, l: Layout): Promise<Proc> {
  const p = start(t, ['server', l.serverConfig]);
  await p.waitForOutput(/listening on/);
  return p;
}

export async function startClientProc(t: T, l: Layout): Promise<Proc> {
  const p = start(t, ['client', l.clientConfig]);
  await Promise.race([
    p.waitForOutput(/listening on/, 60_000),
    p.exited.then((code) => {
      throw new Error(`client exited (${code}) during start:\n${p.output()}`);
    }),
  ]);
  return p;
}

/** Starts a client that is expected to refuse to start; resolves with its exit code and output. */
export async function failingClient(t: T, l: Layout): Promise<{ code: number | string; output: string }> {
  const p = start(t, ['client', l.clientConfig]);
  const code = await p.exited;
  return { code, output: p.output() };
}

export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  p.child.kill(signal);
  return p.exited;
}

const enc = new TextEncoder();

/** A numbered message: the first extra frame is `seq` as text, padded to `size` bytes. */
export function numbered(
  topic: string,
  seq: number,
  size = 64,
): { topic: Uint8Array; message: Uint8Array; data: Uint8Array[] } {
  const frame = Buffer.alloc(Math.max(size, 16), 0x2e);
  frame.write(`${seq};`);
  return {
    topic: enc.encode(topic),
    message: buildMessage({ content: 'video_frame', sourceId: topic }),
    data: [frame],
  };
}

/** A data message with no frames, `m<n>` as its body: what the tests that drive a Spool directly store. */
export function smallMessage(n: number): SpoolMessage {
  return { topic: enc.encode('t'), message: enc.encode(`m${n}`), data: [], endOfStream: false };
}

export function endOfStream(topic: string): { topic: Uint8Array; message: Uint8Array } {
  return { topic: enc.encode(topic), message: buildMessage({ content: 'end_of_stream', sourceId: topic }) };
}

export async function openSource(
  t: T,
  type: 'dealer' | 'req',
  endpoint: string,
  over: { receiveTimeoutMs?: number; sendTimeoutMs?: number } = {},
): Promise<SavantWriter> {
  const w = await SavantWriter.open({
    url: `${type}+connect:${endpoint}`,
    sendTimeoutMs: over.sendTimeoutMs ?? 1000,
    sendRetries: 0,
    receiveTimeoutMs: over.receiveTimeoutMs ?? 1000,
    receiveRetries: 0,
    sendHwm: 1000,
    receiveHwm: 1000,
  });
  t.after(() => w.close());
  return w;
}

export interface Arrival {
  topic: string;
  seq: number;
  endOfStream: boolean;
}

/** A router sink that records every message it reads, with waiting on a count. */
export class Sink {
  readonly arrivals: Arrival[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  private constructor(private readonly reader: SavantReader) {}

  static async open(t: T, endpoint: string): Promise<Sink> {
    const reader = await SavantReader.open({
      url: `router+bind:${endpoint}`,
      receiveTimeoutMs: 100,
      receiveHwm: 1000,
      topicPrefixSpec: { kind: 'none' },
      sourceCacheSize: 100,
      inflightOps: 100,
      ack: 'on_read',
    });
    const sink = new Sink(reader);
    void sink.run();
    t.after(() => reader.close());
    return sink;
  }

  private async run(): Promise<void> {
    for (;;) {
      const r = await this.reader.receive().catch(() => undefined);
      if (!r) return;
      if (r.kind !== 'message') continue;
      const topic = r.topic.toString('utf8');
      const eos = r.info.content === 'end_of_stream';
      const seq = eos ? -1 : Number.parseInt(r.data[0]?.toString('utf8') ?? '', 10);
      this.arrivals.push({ topic, seq, endOfStream: eos });
      for (const w of [...this.waiters]) {
        if (this.arrivals.length >= w.n) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  }

  /** Resolves once `n` messages arrived; rejects after timeoutMs with what did. */
  waitFor(n: number, timeoutMs = 60_000): Promise<void> {
    if (this.arrivals.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { n, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        if (!this.waiters.includes(w)) return;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`sink got ${this.arrivals.length} of ${n} messages within ${timeoutMs} ms`));
      }, timeoutMs).unref();
    });
  }
}

export async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The value of one sample (`name{labels}`), 0 when absent. */
export function sample(text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return 0;
}

export async function health(port: number): Promise<{ status: string; reasons?: string[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return (await res.json()) as { status: string; reasons?: string[] };
}

/** Polls `read` until `cond` holds (state without an event of its own: /health, /metrics). */
export async function until<V>(
  read: () => Promise<V>,
  cond: (v: V) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && cond(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
