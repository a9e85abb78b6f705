// Shared set-up for the savant socket tests: configs, open-and-clean-up helpers, and a deterministic
// PUB/SUB start (probe until the subscription has reached the publisher).
import type { ReaderConfig, WriterConfig } from '../../src/config/types.js';
import { buildMessage } from '../../src/savant/message.js';
import { SavantReader, type ReadResult } from '../../src/savant/reader.js';
import { SavantWriter } from '../../src/savant/writer.js';

type After = { after(fn: () => unknown): void };

/**
 * The writer's timeouts only guard against hanging, so they are generous: a sink in this process answers
 * only when the test's event loop gets to it, which on a loaded machine can take longer than a few hundred
 * ms (a 300 ms ack wait failed that way). A test about a timeout sets the one it is about.
 */
export function writerCfg(url: string, o: Partial<WriterConfig> = {}): WriterConfig {
  return {
    url,
    sendTimeoutMs: 10_000,
    sendRetries: 1,
    receiveTimeoutMs: 10_000,
    receiveRetries: 0,
    sendHwm: 50,
    receiveHwm: 50,
    ...o,
  };
}

export function readerCfg(url: string, o: Partial<ReaderConfig> = {}): ReaderConfig {
  return {
    url,
    receiveTimeoutMs: 100,
    receiveHwm: 50,
    topicPrefixSpec: { kind: 'none' },
    sourceCacheSize: 16,
    inflightOps: 10,
    ack: 'on_read',
    ...o,
  };
}

export async function openReader(t: After, cfg: ReaderConfig): Promise<SavantReader> {
  const r = await SavantReader.open(cfg);
  t.after(() => r.close());
  return r;
}

export async function openWriter(t: After, cfg: WriterConfig): Promise<SavantWriter> {
  const w = await SavantWriter.open(cfg);
  t.after(() => w.close());
  return w;
}

/** A message that tests treat as noise: content `unknown`. */
export const PROBE = buildMessage({ content: 'unknown' });

/** The next result that is not a probe. */
export async function nextReal(reader: SavantReader): Promise<ReadResult | undefined> {
  for (;;) {
    const r = await reader.receive();
    if (r?.kind === 'message' && r.info.content === 'unknown') continue;
    return r;
  }
}

/**
 * PUB drops everything until the SUB's subscription has arrived; send probes on `topic` until one is read.
 * Each wait is bounded so that a probe sent before the subscription existed is simply replaced by the next;
 * the whole is bounded by time (not by a count of 10 ms waits, which a loaded machine stretches).
 */
export async function waitForSubscription(
  writer: SavantWriter,
  reader: SavantReader,
  topic: string,
  timeoutMs = 30_000,
): Promise<void> {
  const pending = reader.receive();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await writer.send(Buffer.from(topic), PROBE, [], false);
    const got = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 10))]);
    if (got) return;
  }
  throw new Error(`subscription never reached the publisher in ${timeoutMs} ms`);
}
