// Health aggregation shared by the server and the client: every part (TLS trust store, user store, ...)
// reports { healthy, reasons }; the process is `healthy` only when all parts are. A degraded process
// still serves, so /health answers 200 either way and the body says which.
import type http from 'node:http';

export interface PartHealth {
  healthy: boolean;
  reasons: string[];
}

export type HealthReport = { status: 'healthy' } | { status: 'degraded'; reasons: string[] };

/** Anything that can say how it is; undefined parts (not configured) are skipped. */
export type HealthSource = { health(): PartHealth } | undefined;

export function aggregateHealth(parts: HealthSource[]): HealthReport {
  const reasons: string[] = [];
  for (const part of parts) {
    if (!part) continue;
    const h = part.health();
    if (!h.healthy) reasons.push(...(h.reasons.length ? h.reasons : ['unhealthy component']));
  }
  return reasons.length ? { status: 'degraded', reasons } : { status: 'healthy' };
}

/** Writes the report; the healthy body is exactly the original's `{"status":"healthy"}`. */
export function writeHealth(res: http.ServerResponse, report: HealthReport): void {
  const body = JSON.stringify(report);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
