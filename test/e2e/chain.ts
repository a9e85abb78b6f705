// The whole product on loopback for end-to-end tests: Savant source → client (startClient) → HTTP(S) →
// server (startServer) → Savant sink, every part real and in this process. Sockets live on ipc paths in a
// temp dir; the HTTP port is chosen by the OS. A source socket type implies the client's reader type
// (pub→sub, req→rep, dealer→router), and the server's writer type the sink's reader type likewise.
import path from 'node:path';
import type { AckPolicy, ClientConfig, ReaderConfig, ServerConfig } from '../../src/config/types.js';
import type { RunningClient } from '../../src/client/pipeline.js';
import type { RunningServer } from '../../src/server/gateway.js';
import type { SavantReader } from '../../src/savant/reader.js';
import type { SavantWriter } from '../../src/savant/writer.js';
import { clientSetup, runClient, source } from '../client/fixtures.js';
import { gateway, serverConfig, sink, writerConfig } from '../server/fixtures.js';

type T = { after(fn: () => unknown): void };
export type WriterType = 'pub' | 'req' | 'dealer';

export const READER_FOR: Record<WriterType, 'sub' | 'rep' | 'router'> = {
  pub: 'sub',
  req: 'rep',
  dealer: 'router',
};

export interface ChainOptions {
  /** the source's socket type (the client reads with its counterpart) */
  source: WriterType;
  /** the server's out_stream socket type (the sink reads with its counterpart) */
  sink: WriterType;
  /** the client's in_stream ack policy */
  ack?: AckPolicy;
  /** the sink reader's ack policy (on_delivery lets a test hold the sink's OK) */
  sinkAck?: AckPolicy;
  transport?: Partial<ClientConfig['transport']>;
  server?: Partial<ServerConfig>;
  client?: Partial<ClientConfig>;
  /** false: no source socket is opened (the test brings its own, e.g. a raw zeromq one) */
  openSource?: boolean;
  /** false: no sink reader is opened (the test binds its own at sinkEndpoint; not with a pub writer) */
  openSink?: boolean;
}

export interface Chain {
  dir: string;
  /** the client's reader endpoint (ipc://...) a source connects to */
  sourceEndpoint: string;
  /** the server's writer endpoint */
  sinkEndpoint: string;
  server: RunningServer;
  client: RunningClient;
  clientCfg: ClientConfig;
  /** undefined when openSink is false */
  sink: SavantReader;
  /** undefined when openSource is false */
  source: SavantWriter;
}

/**
 * Starts sink, server, client and source (in that order, each closed when the test ends). The sink binds,
 * except behind a pub writer, where the server binds (`pub+bind`, as in the default config) and the sink connects.
 */
export async function startChain(t: T, o: ChainOptions): Promise<Chain> {
  const setup = await clientSetup(t, 'http://127.0.0.1:1', {
    readerType: READER_FOR[o.source],
    ack: o.ack,
    transport: o.transport,
    extra: o.client,
  });
  const sinkEndpoint = `ipc://${path.join(setup.dir, 'out')}`;
  const serverBinds = o.sink === 'pub';
  const sinkOver: Partial<ReaderConfig> = { ack: o.sinkAck ?? 'on_read' };
  const writerUrl = `${o.sink}+${serverBinds ? 'bind' : 'connect'}:${sinkEndpoint}`;
  const readerUrl = `${READER_FOR[o.sink]}+${serverBinds ? 'connect' : 'bind'}:${sinkEndpoint}`;
  const openSink = () =>
    o.openSink === false ? (undefined as unknown as SavantReader) : sink(t, readerUrl, sinkOver);
  let reader = serverBinds ? undefined : await openSink();
  const server = await gateway(t, serverConfig(writerConfig(writerUrl), o.server));
  reader ??= await openSink();
  setup.cfg.url = server.url;
  const client = await runClient(t, setup.cfg);
  const src =
    o.openSource === false
      ? (undefined as unknown as SavantWriter)
      : await source(t, o.source, setup.endpoint);
  return {
    dir: setup.dir,
    sourceEndpoint: setup.endpoint,
    sinkEndpoint,
    server,
    client,
    clientCfg: setup.cfg,
    sink: reader,
    source: src,
  };
}
