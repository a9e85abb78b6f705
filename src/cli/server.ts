// `media-gateway server [--config FILE | FILE] [--check]`: loads the configuration (or the embedded default),
// then either only checks it (with every file it names) or runs the gateway until SIGINT/SIGTERM.
import { type ServerConfig, loadServerConfig, defaultServerConfig } from '../config/index.js';
import { logger } from '../util/index.js';
import { preflightServer } from '../preflight/index.js';
import { runHalf, type HalfCommand } from './run-half.js';

const USAGE = `Usage: media-gateway server [--config FILE | FILE] [--check]

Runs the cloud half of the gateway: accepts Savant messages over HTTP(S) (POST /, POST /batch)
and forwards them to the ZeroMQ socket of out_stream. Serves GET /health, and GET /metrics unless
"ops" gives the operations listener (/health /livez /readyz /metrics /version) an address of its own.
Without a configuration file the embedded default is used (127.0.0.1:8080, pub+bind:ipc:///tmp/server).

Options:
  -c, --config FILE  the server configuration (same as giving FILE alone)
  --check            load the configuration, check the files it names, print "configuration OK" and exit
  --allow-unknown-keys
                     keys this version does not know are warnings, not errors (near misses
                     of a known key stay errors); also MEDIA_GATEWAY_ALLOW_UNKNOWN_KEYS=1
  --version          print the version and exit
  -h, --help         show this help
`;

const command: HalfCommand<ServerConfig> = {
  name: 'server',
  help: USAGE,
  load: async (file, opts) =>
    file ? loadServerConfig(file, undefined, opts) : { config: defaultServerConfig(), warnings: [] },
  preflight: (config, opts) => preflightServer(config, opts),
  async start(config) {
    // Loaded only to run: --check needs neither ZeroMQ nor the HTTP stack.
    const { startServer } = await import('../server/gateway.js');
    const server = await startServer(config);
    return {
      async stop(signal) {
        logger('media_gateway::server').info(`received ${signal}, shutting down`);
        await server.close();
      },
    };
  },
  stopSignals: ['SIGINT', 'SIGTERM'],
};

export function run(argv: string[]): Promise<number> {
  return runHalf(command, argv);
}
