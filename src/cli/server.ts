// `media-gateway server [config.json] [--check]`: loads the configuration (or the embedded default),
// then either only checks it (with every file it names) or runs the gateway until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import type { ServerConfig } from '../config/types.js';
import { loadServerConfig } from '../config/server.js';
import { defaultServerConfig } from '../config/defaults.js';
import { checkReferencedFiles } from '../config/check.js';
import { ConfigError } from '../config/errors.js';
import { logger } from '../util/log.js';

const USAGE = `Usage: media-gateway server [config.json] [--check]

Runs the cloud half of the gateway: accepts Savant messages over HTTP(S) (POST /, POST /batch)
and forwards them to the ZeroMQ socket of out_stream. Serves GET /health and GET /metrics.
Without a configuration file the embedded default is used (127.0.0.1:8080, pub+bind:ipc:///tmp/server).

Options:
  --check     load the configuration, check the files it names, print "configuration OK" and exit
  -h, --help  show this help
`;

function fail(message: string): number {
  process.stderr.write(`media-gateway server: ${message}\n`);
  return 1;
}

async function load(file: string | undefined): Promise<{ config: ServerConfig; warnings: string[] }> {
  return file ? loadServerConfig(file) : { config: defaultServerConfig(), warnings: [] };
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (err) {
    process.stderr.write(`media-gateway server: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.positionals.length > 1) {
    process.stderr.write(`media-gateway server: expected at most one configuration file\n\n${USAGE}`);
    return 2;
  }
  const file = args.positionals[0];

  let config: ServerConfig;
  try {
    const loaded = await load(file);
    config = loaded.config;
    for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
    if (args.values.check) {
      await checkReferencedFiles(config);
      process.stdout.write('configuration OK\n');
      return 0;
    }
  } catch (err) {
    // Configuration problems are the operator's to fix: the message says where, a stack trace would not help.
    if (err instanceof ConfigError) return fail(err.message);
    return fail(`cannot load configuration: ${(err as Error).message}`);
  }

  let server;
  try {
    // Loaded only to run: --check needs neither ZeroMQ nor the HTTP stack.
    const { startServer } = await import('../server/gateway.js');
    server = await startServer(config);
  } catch (err) {
    return fail((err as Error).message);
  }
  const signal = await waitForStopSignal();
  logger('media_gateway::server').info(`received ${signal}, shutting down`);
  await server.close();
  return 0;
}
