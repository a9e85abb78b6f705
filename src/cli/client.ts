// `media-gateway client [config.json] [--check] [--help]`: the edge half. Reads Savant messages from the
// configured ZeroMQ socket and delivers them over HTTP(S) to the gateway server; serves /health and /metrics.
// Without a config file the embedded default (the original's default config, bound to 127.0.0.1) is used.
// SIGINT/SIGTERM/SIGQUIT stop reading, deliver what is queued (bounded by shutdown_timeout), and exit 0.
import { parseArgs } from 'node:util';
import { loadClientConfig } from '../config/client.js';
import { defaultClientConfig } from '../config/defaults.js';
import { checkReferencedFiles } from '../config/check.js';
import { ConfigError } from '../config/errors.js';
import type { ClientConfig } from '../config/types.js';
import { startClient } from '../client/pipeline.js';
import { logger } from '../util/log.js';

const HELP = `Usage: media-gateway client [config.json] [--check]

Reads Savant messages from the in_stream ZeroMQ socket and POSTs them to the gateway server at url.
Serves GET /health and GET /metrics on ip:port.

Arguments:
  config.json   client configuration (the original Media Gateway format); default: embedded defaults
                (sub+bind:ipc:///tmp/client, server http://127.0.0.1:8080 or $GATEWAY_URL, port 8081)

Options:
  --check       load and validate the configuration and the files it names, print "configuration OK"
  -h, --help    show this help

SIGINT/SIGTERM: stop reading, deliver what is queued (at most shutdown_timeout), exit 0.
`;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`media-gateway client: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    process.stderr.write(`media-gateway client: expected at most one configuration file\n\n${HELP}`);
    return 2;
  }
  const file = parsed.positionals[0];
  const log = logger('media_gateway::client');

  let config: ClientConfig;
  try {
    if (file) {
      const loaded = await loadClientConfig(file);
      config = loaded.config;
      for (const w of loaded.warnings) log.warn(w);
    } else {
      config = defaultClientConfig();
    }
    if (parsed.values.check) {
      await checkReferencedFiles(config);
      process.stdout.write('configuration OK\n');
      return 0;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }

  let client;
  try {
    client = await startClient(config);
  } catch (err) {
    process.stderr.write(`media-gateway client: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  log.info(
    { url: redactUrl(config.url), in_stream: config.inStream.url },
    `listening on http://${hostForUrl(config.ip)}:${client.port}`,
  );

  // After the first signal the handlers are gone, so a second one ends the process at once.
  const handlers = new Map<string, () => void>();
  const signal = await new Promise<string>((resolve) => {
    for (const s of SIGNALS) {
      const handler = () => resolve(s);
      handlers.set(s, handler);
      process.once(s, handler);
    }
  });
  for (const [s, handler] of handlers) process.off(s, handler);
  log.info({ signal }, 'stopping: delivering queued messages');
  await client.stop();
  return 0;
}

function hostForUrl(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

/** The server URL without any user:password part. */
function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return '<invalid url>';
  }
}
