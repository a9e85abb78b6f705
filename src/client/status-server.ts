// The client's own small HTTP listener (the original serves only GET /health): /health with the shared
// health body, and /metrics unless metrics were given a port of their own.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeHealth, type HealthReport } from '../health/health.js';
import { metricsHandler } from '../metrics/http.js';

export interface StatusServer {
  port: number;
  close(): Promise<void>;
}

export async function startStatusServer(opts: {
  ip: string;
  port: number;
  health: () => HealthReport;
  metrics: boolean;
}): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const known = path === '/health' || (opts.metrics && path === '/metrics');
    if (!known) {
      res.writeHead(404, { 'Content-Length': 0 }).end();
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET', 'Content-Length': 0 }).end();
    } else if (path === '/health') {
      writeHealth(res, opts.health());
    } else {
      void metricsHandler(req, res);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
