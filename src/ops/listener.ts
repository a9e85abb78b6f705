// The operations listener: plain HTTP, loopback by default, for what probes, scrapers and operators ask a
// running half (`ops: {ip, port}` in either configuration). It exists because with mutual TLS the main
// port refuses anyone without a client certificate, a kubelet and a Prometheus included.
//   GET /health   the original's body, always 200 (healthy or degraded, with reasons)
//   GET /livez    200, or 503 with the reasons a restart is needed
//   GET /readyz   200, or 503 with the reasons the half cannot do its job now
//   GET /metrics  Prometheus text format (only on the listener that owns it, see `metrics`)
//   GET /version  {"version","node","libzmq"}
// The client's own status port (the original's /health port) is served by the same handler.
import http from 'node:http';
import { writeHealth, type HealthReport, writeProbe } from '../health/index.js';
import { metricsHandler } from '../metrics/index.js';
import { logger } from '../util/index.js';
import { buildInfo } from './build-info.js';
import { closeServer, listen, urlHost } from '../util/listen.js';

const log = logger('media_gateway::ops');

export interface OpsProbes {
  health(): HealthReport;
  notReady(): string[];
  notLive(): string[];
}

export interface OpsListener {
  port: number;
  /** `http://ip:port` */
  url: string;
  close(): Promise<void>;
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function opsHandler(probes: OpsProbes, opts: { metrics: boolean }): http.RequestListener {
  const version = JSON.stringify(buildInfo());
  const routes: Record<string, Route> = {
    '/health': (_req, res) => writeHealth(res, probes.health()),
    '/livez': (_req, res) => writeProbe(res, 'live', probes.notLive()),
    '/readyz': (_req, res) => writeProbe(res, 'ready', probes.notReady()),
    '/version': (_req, res) =>
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(version) })
        .end(version),
  };
  if (opts.metrics) routes['/metrics'] = (req, res) => void metricsHandler(req, res);
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) {
      res.writeHead(404, { 'Content-Length': 0 }).end();
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 }).end();
    } else {
      route(req, res);
    }
  };
}

/** Listens on ip:port (port 0: any free port) and serves opsHandler(). */
export async function startOpsListener(
  address: { ip: string; port: number },
  probes: OpsProbes,
  opts: { metrics: boolean; name?: string },
): Promise<OpsListener> {
  const server = http.createServer(opsHandler(probes, opts));
  const port = await listen(server, address.port, address.ip);
  const url = `http://${urlHost(address.ip)}:${port}`;
  if (opts.name) log.info(`${opts.name} listening on ${url}`);
  return { port, url, close: () => closeServer(server) };
}
