// Every Prometheus metric family of the gateway, defined once so that all parts count into the
// same names. Served at /metrics by src/metrics/http.ts.
import {
  Registry,
  Counter,
  Gauge,
  Histogram,
  collectDefaultMetrics,
  type CounterConfiguration,
} from 'prom-client';
import { flushHot } from './hot.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'media_gateway_process_' });

const r = [registry];

/** A counter fed on the per-message path through hotSlot()/hotSlotsBy() (./hot.ts): flushed at each scrape. */
function hotCounter<T extends string>(cfg: CounterConfiguration<T>): Counter<T> {
  return new Counter({
    ...cfg,
    collect() {
      flushHot(this);
    },
  });
}

export const messagesTotal = hotCounter({
  name: 'media_gateway_messages_total',
  help: 'Messages handled, by side (client|server) and outcome',
  labelNames: ['side', 'outcome'] as const,
  registers: r,
});
export const bytesTotal = hotCounter({
  name: 'media_gateway_bytes_total',
  help: 'Message bytes (message + extra frames) handled, by side and outcome',
  labelNames: ['side', 'outcome'] as const,
  registers: r,
});
export const httpResponsesTotal = new Counter({
  name: 'media_gateway_http_responses_total',
  help: 'HTTP responses by side (server: sent, client: received) and status code',
  labelNames: ['side', 'status'] as const,
  registers: r,
});
export const requestDuration = new Histogram({
  name: 'media_gateway_request_duration_seconds',
  help: 'HTTP request duration by side',
  labelNames: ['side'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: r,
});
let queueDepth = 0;
/** Sets the client queue depth: a plain assignment on the per-message path, read at each scrape. */
export function setClientQueueDepth(n: number): void {
  queueDepth = n;
}
export const clientQueueDepth = new Gauge({
  name: 'media_gateway_client_queue_depth',
  help: 'Messages read from ZeroMQ and not yet delivered',
  registers: r,
  collect() {
    this.set(queueDepth);
  },
});
export const clientRetriesTotal = new Counter({
  name: 'media_gateway_client_retries_total',
  help: 'Delivery retries by reason',
  labelNames: ['reason'] as const,
  registers: r,
});
export const clientRefusalsTotal = new Counter({
  name: 'media_gateway_client_refusals_total',
  help: 'Delivery attempts refused (our certificate, the server certificate or our credentials), by reason code',
  labelNames: ['reason'] as const,
  registers: r,
});
export const deadLetteredTotal = new Counter({
  name: 'media_gateway_dead_lettered_total',
  help: 'Messages written to the dead-letter directory, by HTTP status',
  labelNames: ['status'] as const,
  registers: r,
});
export const zmqSendResultsTotal = hotCounter({
  name: 'media_gateway_zmq_send_results_total',
  help: 'ZeroMQ writer results (success, ack, send_timeout, ack_timeout, error)',
  labelNames: ['result'] as const,
  registers: r,
});
export const zmqReadResultsTotal = hotCounter({
  name: 'media_gateway_zmq_read_results_total',
  help: 'ZeroMQ reader results (message, prefix_mismatch, routing_id_mismatch, too_short, blacklisted, error)',
  labelNames: ['result'] as const,
  registers: r,
});
export const writerSocketsReplacedTotal = new Counter({
  name: 'media_gateway_writer_sockets_replaced_total',
  help: 'Writer sockets closed without lingering and replaced after an ack timeout, by socket type (what they still queued is dropped)',
  labelNames: ['type'] as const,
  registers: r,
});
export const writerDroppedNoSubscriberTotal = hotCounter({
  name: 'media_gateway_writer_dropped_no_subscriber_total',
  help: 'Messages a pub writer handed to ZeroMQ while no subscriber was connected (ZeroMQ drops them)',
  registers: r,
});
export const writerConnectedPeers = new Gauge({
  name: 'media_gateway_writer_connected_peers',
  help: 'Peers connected to the pub writer socket, from the libzmq socket monitor',
  registers: r,
});
export const tlsRejectionsTotal = new Counter({
  name: 'media_gateway_tls_rejections_total',
  help: 'Client certificates refused, by reason',
  labelNames: ['reason'] as const,
  registers: r,
});
export const trustCas = new Gauge({
  name: 'media_gateway_trust_ca_certificates',
  help: 'CA certificates in the trust snapshot in force',
  registers: r,
});
export const trustCrls = new Gauge({
  name: 'media_gateway_trust_crls',
  help: 'CRLs in the trust snapshot in force',
  registers: r,
});
export const trustCrlSecondsToNextUpdate = new Gauge({
  name: 'media_gateway_trust_crl_next_update_seconds',
  help: 'Seconds until the earliest CRL nextUpdate in the snapshot in force (negative when expired)',
  registers: r,
});
export const trustReloadsTotal = new Counter({
  name: 'media_gateway_trust_reloads_total',
  help: 'Trust directory reloads by result (success|failure|unchanged)',
  labelNames: ['result'] as const,
  registers: r,
});
export const trustProblems = new Gauge({
  name: 'media_gateway_trust_problems',
  help: 'Problems the latest trust directory scan found, by code and severity (docs/errors.md); e.g. crl-kept, crl-rollback',
  labelNames: ['code', 'severity'] as const,
  registers: r,
});
export const trustLastGoodReload = new Gauge({
  name: 'media_gateway_trust_last_good_reload_timestamp_seconds',
  help: 'Unix time of the last successful trust directory reload',
  registers: r,
});
export const liveConnectionsClosedTotal = new Counter({
  name: 'media_gateway_tls_live_connections_closed_total',
  help: 'Open connections closed because their client stopped passing verification, by reason',
  labelNames: ['reason'] as const,
  registers: r,
});
export const authOutcomesTotal = new Counter({
  name: 'media_gateway_auth_outcomes_total',
  help: 'Authentication/authorization outcomes by method and result',
  labelNames: ['method', 'result'] as const,
  registers: r,
});
export const quarantinedUsers = new Gauge({
  name: 'media_gateway_auth_quarantined',
  help: 'Users (per client address) currently in quarantine',
  registers: r,
});
export const etcdConnected = new Gauge({
  name: 'media_gateway_etcd_connected',
  help: '1 while the etcd user store is reachable, 0 otherwise',
  registers: r,
});
