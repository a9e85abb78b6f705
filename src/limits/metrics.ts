// The metric families of the server's limits (decode bounds, connection budget, timeouts, Argon2 budget),
// registered in the shared registry of src/metrics/registry.ts so they are served with all the others.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.js';

const r = [registry];

export const decodeLimitRefusalsTotal = new Counter({
  name: 'media_gateway_decode_limit_refusals_total',
  help: 'Bodies or messages refused for carrying too many fields, by limit',
  labelNames: ['limit'] as const,
  registers: r,
});
export const connectionsRefusedTotal = new Counter({
  name: 'media_gateway_connections_refused_total',
  help: 'Connections closed at once by the connection budget, by reason (global|per_address|not_http1)',
  labelNames: ['reason'] as const,
  registers: r,
});
export const connectionTimeoutsTotal = new Counter({
  name: 'media_gateway_connection_timeouts_total',
  help: 'Connections cut by a timeout, by phase (handshake|header|body_progress|request|idle)',
  labelNames: ['phase'] as const,
  registers: r,
});
export const openConnections = new Gauge({
  name: 'media_gateway_open_connections',
  help: 'Connections open on the main listener',
  registers: r,
});
export const connectionLimit = new Gauge({
  name: 'media_gateway_connection_limit',
  help: 'The global connection limit in force (after the file-descriptor reserve)',
  registers: r,
});
export const verificationsRefusedTotal = new Counter({
  name: 'media_gateway_auth_verifications_refused_total',
  help: 'Basic logins refused before any hashing, by reason (busy|rate_limited|quarantine_full)',
  labelNames: ['reason'] as const,
  registers: r,
});
export const verificationsInFlight = new Gauge({
  name: 'media_gateway_auth_verifications_in_flight',
  help: 'Argon2 verifications running or queued',
  registers: r,
});
