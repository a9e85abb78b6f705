// Health reports: each part says ok/degraded/failed with reasons, aggregated for /health, and the
// readiness and liveness probe answers (./probes.ts) of the operations listener.
export { type HealthReport, type PartHealth, aggregateHealth, writeHealth } from './health.js';
export { probeReasons, writeProbe } from './probes.js';
