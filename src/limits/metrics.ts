// The metric families of the server's limits (decode bounds, connection budget, timeouts, Argon2 budget),
// declared into the groups of src/metrics/registry.ts (server, or auth for the Argon2 budget), so they are
// exported only where they apply, with all the others.
import { Counter, Gauge } from 'prom-client';
import { family } from '../metrics/index.js';

const r: [] = [];

export const decodeLimitRefusalsTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_decode_limit_refusals_total',
    help: 'Bodies or messages refused for carrying too many fields, by limit',
    labelNames: ['limit'] as const,
    registers: r,
  }),
);
export const connectionsRefusedTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_connections_refused_total',
    help: 'Connections closed at once by the connection budget, by reason (global|per_address|not_http1)',
    labelNames: ['reason'] as const,
    registers: r,
  }),
);
export const connectionTimeoutsTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_connection_timeouts_total',
    help: 'Connections cut by a timeout, by phase (handshake|header|body_progress|body_rate|request|idle)',
    labelNames: ['phase'] as const,
    registers: r,
  }),
);
export const openConnections = family(
  'server',
  new Gauge({
    name: 'media_gateway_open_connections',
    help: 'Connections open on the main listener',
    registers: r,
  }),
);
export const connectionLimit = family(
  'server',
  new Gauge({
    name: 'media_gateway_connection_limit',
    help: 'The global connection limit in force (after the file-descriptor reserve)',
    registers: r,
  }),
);
export const verificationsRefusedTotal = family(
  'auth',
  new Counter({
    name: 'media_gateway_auth_verifications_refused_total',
    help: 'Basic logins refused before any hashing, by reason (busy|rate_limited|quarantine_full)',
    labelNames: ['reason'] as const,
    registers: r,
  }),
);
export const verificationsInFlight = family(
  'auth',
  new Gauge({
    name: 'media_gateway_auth_verifications_in_flight',
    help: 'Argon2 verifications running or queued',
    registers: r,
  }),
);
