// Shared set-up for client tests: a ClientConfig with fast retries on temp-dir sockets, a Savant source
// (real SavantWriter), numbered messages, a gate to hold sink answers, and a condition waiter.
import path from 'node:path';
import type { ClientConfig, WriterConfig } from '../../src/config/types.js';
import { SavantWriter } from '../../src/savant/writer.js';
import { buildMessage } from '../../src/savant/message.js';
import { startClient, type RunningClient } from '../../src/client/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

type T = { after(fn: () => unknown): void };

export interface ClientSetup {
  dir: string;
  /** reader endpoint, e.g. `ipc:///tmp/.../in` */
  endpoint: string;
  cfg: ClientConfig;
}

/** A client config reading `readerType+bind` on an ipc socket in a temp dir and posting to `url`. */
export async function clientSetup(
  t: T,
  url: string,
  opts: {
    readerType?: 'sub' | 'rep' | 'router';
    ack?: ClientConfig['inStream']['ack'];
    transport?: Partial<ClientConfig['transport']>;
    inflightOps?: number;
    extra?: Partial<ClientConfig>;
  } = {},
): Promise<ClientSetup> {
  const dir = await tempDir(t, 'mg-client-');
  const endpoint = `ipc://${path.join(dir, 'in')}`;
  const cfg: ClientConfig = {
    ip: '127.0.0.1',
    port: 0,
    url,
    inStream: {
      url: `${opts.readerType ?? 'router'}+bind:${endpoint}`,
      receiveTimeoutMs: 100,
      receiveHwm: 1000,
      topicPrefixSpec: { kind: 'none' },
      sourceCacheSize: 100,
      inflightOps: opts.inflightOps ?? 100,
      ack: opts.ack ?? 'on_read',
    },
    retry: { initialDelayMs: 5, maximumDelayMs: 40, multiplier: 2 },
    waitStrategy: { kind: 'sleep', ms: 1 },
    deadLetterDir: path.join(dir, 'dead-letter'),
    shutdownTimeoutMs: 5000,
    transport: { mode: 'single', lanes: 1, maxBatchMessages: 256, maxBatchBytes: 8 << 20, ...opts.transport },
    ...opts.extra,
  };
  return { dir, endpoint, cfg };
}

/** Starts the client; stopped (quickly) when the test ends. */
export async function runClient(t: T, cfg: ClientConfig): Promise<RunningClient> {
  const client = await startClient(cfg);
  t.after(() => client.stop({ drainTimeoutMs: 0 }));
  return client;
}

/** A Savant source connected to the client's reader socket. */
export async function source(
  t: T,
  type: 'pub' | 'req' | 'dealer',
  endpoint: string,
  over: Partial<WriterConfig> = {},
): Promise<SavantWriter> {
  const writer = await SavantWriter.open({
    url: `${type}+connect:${endpoint}`,
    sendTimeoutMs: 1000,
    sendRetries: 3,
    receiveTimeoutMs: 5000,
    receiveRetries: 3,
    sendHwm: 1000,
    receiveHwm: 1000,
    ...over,
  });
  t.after(() => writer.close());
  return writer;
}

const enc = new TextEncoder();

/** Sends a video frame on `topic` whose one extra frame is the text `seq`. */
export function sendNumbered(writer: SavantWriter, topic: string, seq: number | string) {
  const message = buildMessage({ content: 'video_frame', sourceId: topic });
  return writer.send(enc.encode(topic), message, [enc.encode(String(seq))], false);
}

/** The `seq` of a sink item sent with sendNumbered. */
export function seqOf(item: { media: { data: Uint8Array[] } }): string {
  return Buffer.from(item.media.data[0] ?? []).toString('utf8');
}

/** A latch: `wait()` resolves after `open()`. */
export function gate(): { wait: () => Promise<void>; open: () => void; isOpen: () => boolean } {
  let open!: () => void;
  let opened = false;
  const p = new Promise<void>((r) => (open = r));
  return {
    wait: () => p,
    open: () => {
      opened = true;
      open();
    },
    isOpen: () => opened,
  };
}

/** Waits until `cond` holds, re-checking every few ms (for state with no event of its own). */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => String(i));
