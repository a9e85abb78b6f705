// Both halves as an operator runs them: `media-gateway server --config` with mutual TLS and
// `media-gateway client --config` presenting its certificate, each a child process with its operations
// listener on a free loopback port, plus a real ZeroMQ source feeding the client and a sink behind the server.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makePki, type DemoPki } from '../../src/pki/index.js';
import type { SavantReader } from '../../src/savant/reader.js';
import type { SavantWriter } from '../../src/savant/writer.js';
import { startCli } from '../helpers/cli.js';
import { READER, WRITER } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { source } from '../client/fixtures.js';
import { sink } from '../server/fixtures.js';
import { request } from '../server/fixtures.js';

type T = { after(fn: () => unknown): void };

export interface Halves {
  dir: string;
  pki: DemoPki;
  /** `https://127.0.0.1:port` of the server's main port */
  serverUrl: string;
  /** `127.0.0.1:port` of each operations listener */
  serverOps: string;
  clientOps: string;
  source: SavantWriter;
  sink: SavantReader;
}

export interface HalvesOptions {
  /** more keys of the server configuration (e.g. `auth`) */
  server?: Record<string, unknown>;
  /** false: do not insist on both /readyz being 200 (e.g. with an etcd that is never reached) */
  ready?: boolean;
  /** more keys of the client configuration (e.g. `spool`) */
  client?: (dir: string) => Record<string, unknown>;
}

export async function startHalves(t: T, opts: HalvesOptions = {}): Promise<Halves> {
  const dir = await tempDir(t, 'mg-halves-');
  const pki = await makePki(dir);
  const [serverPort, serverOpsPort, clientPort, clientOpsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const sinkEndpoint = `ipc://${path.join(dir, 'out')}`;
  const sourceEndpoint = `ipc://${path.join(dir, 'in')}`;
  const sinkReader = await sink(t, `router+bind:${sinkEndpoint}`);
  const serverFile = path.join(dir, 'server.json');
  await writeFile(
    serverFile,
    JSON.stringify({
      ip: '127.0.0.1',
      port: serverPort,
      out_stream: { ...WRITER, url: `dealer+connect:${sinkEndpoint}` },
      tls: {
        identity: { certificate: pki.serverCert, key: pki.serverKey },
        peers: { lookup_hash_directory: pki.hashDir, crl_enabled: true },
      },
      ops: { port: serverOpsPort },
      ...opts.server,
    }),
  );
  const clientFile = path.join(dir, 'client.json');
  await writeFile(
    clientFile,
    JSON.stringify({
      ip: '127.0.0.1',
      port: clientPort,
      url: `https://127.0.0.1:${serverPort}`,
      in_stream: { ...READER, url: `router+bind:${sourceEndpoint}` },
      tls: { root_certificate: pki.caCert, identity: { certificate: pki.clientCert, key: pki.clientKey } },
      dead_letter_dir: path.join(dir, 'dead-letter'),
      ...opts.client?.(dir),
      retry_strategy: {
        exponential: {
          initial_delay: { secs: 0, nanos: 5e6 },
          maximum_delay: { secs: 0, nanos: 2e8 },
          multiplier: 2,
        },
      },
      ops: { port: clientOpsPort },
    }),
  );
  const server = startCli(t, ['server', '--config', serverFile]);
  await server.waitForOutput(/operations listening on http:\/\/127\.0\.0\.1:\d+/);
  const client = startCli(t, ['client', '--config', clientFile]);
  await client.waitForOutput(/operations listening on http:\/\/127\.0\.0\.1:\d+/);
  const halves: Halves = {
    dir,
    pki,
    serverUrl: `https://127.0.0.1:${serverPort}`,
    serverOps: `127.0.0.1:${serverOpsPort}`,
    clientOps: `127.0.0.1:${clientOpsPort}`,
    source: await source(t, 'dealer', sourceEndpoint),
    sink: sinkReader,
  };
  for (const ops of opts.ready === false ? [] : [halves.serverOps, halves.clientOps]) {
    const ready = await request(`http://${ops}/readyz`);
    if (ready.status !== 200) throw new Error(`${ops} not ready: ${ready.body.toString()}`);
  }
  return halves;
}
