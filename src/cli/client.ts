// `media-gateway client [--config FILE | FILE] [--check] [--help]`: the edge half. Reads Savant messages from the
// configured ZeroMQ socket and delivers them over HTTP(S) to the gateway server; serves /health and /metrics.
// Without a config file the embedded default (the original's default config, bound to 127.0.0.1) is used.
// SIGINT/SIGTERM/SIGQUIT stop reading, deliver what is queued (bounded by shutdown_timeout), and exit 0.
import { redactUrl } from '../util/redact-url.js';
import { loadClientConfig, defaultClientConfig, type ClientConfig } from '../config/index.js';
import { startClient } from '../client/index.js';
import { logger } from '../util/index.js';
import { preflightClient } from '../preflight/index.js';
import { runHalf, type HalfCommand } from './run-half.js';
import { urlHost } from '../util/listen.js';

const HELP = `Usage: media-gateway client [--config FILE | FILE] [--check]

Reads Savant messages from the in_stream ZeroMQ socket and POSTs them to the gateway server at url.
Serves GET /health /livez /readyz /version on ip:port, and GET /metrics there unless "ops" gives the
operations listener an address of its own.

Arguments:
  FILE               client configuration (the original Media Gateway format); default: embedded defaults
                     (sub+bind:ipc:///tmp/client, server http://127.0.0.1:8080 or $GATEWAY_URL, port 8081)

Options:
  -c, --config FILE  the same as giving FILE
  --check            load and validate the configuration and the files it names, print "configuration OK"
  --allow-unknown-keys
                     keys this version does not know are warnings, not errors (near misses
                     of a known key stay errors); also MEDIA_GATEWAY_ALLOW_UNKNOWN_KEYS=1
  --version          print the version and exit
  -h, --help         show this help

SIGINT/SIGTERM: stop reading, deliver what is queued (at most shutdown_timeout), exit 0.
`;

const log = logger('media_gateway::client');

const command: HalfCommand<ClientConfig> = {
  name: 'client',
  help: HELP,
  load: async (file, opts) =>
    file ? loadClientConfig(file, undefined, opts) : { config: defaultClientConfig(), warnings: [] },
  preflight: (config, opts) => preflightClient(config, opts),
  async start(config) {
    let client;
    try {
      client = await startClient(config);
    } catch (err) {
      throw new Error(`cannot start: ${(err as Error).message}`, { cause: err });
    }
    log.info(
      { url: (config.urls ?? [config.url]).map(redactUrl).join(' '), in_stream: config.inStream.url },
      `listening on http://${urlHost(config.ip)}:${client.port}`,
    );
    return {
      async stop(signal) {
        log.info({ signal }, 'stopping: delivering queued messages');
        await client.stop();
      },
    };
  },
  stopSignals: ['SIGINT', 'SIGTERM', 'SIGQUIT'],
};

export function run(argv: string[]): Promise<number> {
  return runHalf(command, argv);
}
