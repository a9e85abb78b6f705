// Shared pieces of the server tests: a gateway config around a writer URL and a real Savant reader as
// the sink (the raw HTTP client is in http-client.ts).
import type { ReaderConfig, ServerConfig, WriterConfig } from '../../src/config/types.js';
import { SavantReader, type ReadResult } from '../../src/savant/reader.js';
import { startServer, type RunningServer } from '../../src/server/gateway.js';
import { freePort } from '../helpers/net.js';
export { request, post, PROTOBUF, type HttpAnswer } from './http-client.js';

/**
 * The writer's timeouts only guard against hanging: a sink in the test's process answers when its event
 * loop gets there, which a loaded machine can delay by seconds. A test about a timeout sets its own.
 */
export function writerConfig(url: string, over: Partial<WriterConfig> = {}): WriterConfig {
  return {
    url,
    sendTimeoutMs: 10_000,
    sendRetries: 0,
    receiveTimeoutMs: 10_000,
    receiveRetries: 0,
    sendHwm: 50,
    receiveHwm: 50,
    ...over,
  };
}

export function serverConfig(outStream: WriterConfig, over: Partial<ServerConfig> = {}): ServerConfig {
  return { ip: '127.0.0.1', port: 0, maxBodySize: 64 * 1024 * 1024, outStream, ...over };
}

/** A ZeroMQ TCP endpoint on a free loopback port. */
export async function tcp(): Promise<string> {
  return `tcp://127.0.0.1:${await freePort()}`;
}

export async function gateway(
  t: { after(fn: () => unknown): void },
  cfg: ServerConfig,
): Promise<RunningServer> {
  const server = await startServer(cfg);
  t.after(() => server.close());
  return server;
}

export async function sink(
  t: { after(fn: () => unknown): void },
  url: string,
  over: Partial<ReaderConfig> = {},
): Promise<SavantReader> {
  const reader = await SavantReader.open({
    url,
    receiveTimeoutMs: 1000,
    receiveHwm: 50,
    topicPrefixSpec: { kind: 'none' },
    sourceCacheSize: 100,
    inflightOps: 10,
    ack: 'on_read',
    ...over,
  });
  t.after(() => reader.close());
  return reader;
}

/** The usual pair of the tests: a gateway whose dealer writer connects to a router sink. */
export async function gatewayToRouter(
  t: { after(fn: () => unknown): void },
  over: Partial<ServerConfig> = {},
): Promise<{ server: RunningServer; reader: SavantReader }> {
  const ep = await tcp();
  const reader = await sink(t, `router+bind:${ep}`);
  const server = await gateway(t, serverConfig(writerConfig(`dealer+connect:${ep}`), over));
  return { server, reader };
}

export type Received = Extract<ReadResult, { kind: 'message' }>;

/** The next message the sink reads (anything else is a test failure). */
export async function nextMessage(reader: SavantReader): Promise<Received> {
  const r = await reader.receive();
  if (!r || r.kind !== 'message') throw new Error(`sink read ${r ? r.kind : 'nothing (closed)'}`);
  return r;
}
