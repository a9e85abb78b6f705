// Prometheus exposition over HTTP: the handler mounted at GET /metrics, on the operations listener
// (src/ops/listener.ts) or, when none is configured, on the server's main port and the client's status port.
import type http from 'node:http';
import { registry } from './registry.js';
import { logger } from '../util/index.js';

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
