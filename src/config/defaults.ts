// The embedded configurations used when no file is given: the original's sample defaults, but listening on
// 127.0.0.1 only. Kept as JSON text and run through the normal parser, so they obey exactly the same rules.
import { parseClientConfig } from './client.js';
import { parseServerConfig } from './server.js';
import type { ClientConfig, ServerConfig } from './types.js';

export const DEFAULT_SERVER_CONFIG_JSON = `{
  "ip": "127.0.0.1",
  "port": 8080,
  "out_stream": {
    "url": "pub+bind:ipc:///tmp/server",
    "send_timeout": { "secs": 1, "nanos": 0 },
    "send_retries": 3,
    "receive_timeout": { "secs": 1, "nanos": 0 },
    "receive_retries": 3,
    "send_hwm": 1000,
    "receive_hwm": 1000,
    "fix_ipc_permissions": 511
  }
}
`;

export const DEFAULT_CLIENT_CONFIG_JSON = `{
  "ip": "127.0.0.1",
  "port": 8081,
  "url": "\${GATEWAY_URL:-http://127.0.0.1:8080}",
  "in_stream": {
    "url": "sub+bind:ipc:///tmp/client",
    "receive_timeout": { "secs": 10, "nanos": 0 },
    "receive_hwm": 1000,
    "topic_prefix_spec": { "none": null },
    "source_cache_size": 1000,
    "inflight_ops": 100
  }
}
`;

export function defaultServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return parseServerConfig(DEFAULT_SERVER_CONFIG_JSON, { env }).config;
}

/** `GATEWAY_URL` (as in the original's sample) chooses the server; default http://127.0.0.1:8080. */
export function defaultClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  return parseClientConfig(DEFAULT_CLIENT_CONFIG_JSON, { env }).config;
}
