// Prometheus exposition over HTTP: a handler the server and client mount at GET /metrics on their main
// port, and a small dedicated listener for when `metrics.port` asks for a separate one.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsConfig } from '../config/types.js';
import { registry } from './registry.js';
import { logger } from '../util/log.js';

const log = logger('media_gateway::metrics');

/** Answers with the registry's text exposition (the caller has already routed GET /metrics here). */
export async function metricsHandler(_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'failed to collect metrics');
    res.writeHead(500, { 'Content-Length': 0 });
    res.end();
  }
}

/** True when /metrics is served on the main port (no separate port configured). */
export function metricsOnMainPort(cfg: MetricsConfig | undefined): boolean {
  return cfg?.port === undefined;
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts a listener serving only GET /metrics, when `cfg.port` is set; undefined otherwise. */
export async function startMetricsServer(cfg: MetricsConfig | undefined): Promise<MetricsServer | undefined> {
  if (cfg?.port === undefined) return undefined;
  const ip = cfg.ip ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Length': 0 }).end();
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET', 'Content-Length': 0 }).end();
    } else {
      void metricsHandler(req, res);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/metrics`;
  log.info(`metrics listening on ${url}`);
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
