// Every Prometheus metric family of the gateway, defined once so that all parts count into the same names,
// and grouped by the part of the configuration they describe. A family is exported (registered in
// `registry`, served at /metrics by ./http.ts) only once its group is switched on by exportFamilies(), so a
// client shows no trust-store gauges and a server without etcd no `etcd_connected 0` that naive alerts would
// fire on. Which configuration switches on which group: ./applicable.ts. Reference: docs/metrics.md.
import {
  Registry,
  Counter,
  Gauge,
  Histogram,
  collectDefaultMetrics,
  type CounterConfiguration,
  type Metric,
} from 'prom-client';
import { flushHot } from './hot.js';

export const registry = new Registry();

/** The parts a family belongs to; see ./applicable.ts for the configuration that switches each on. */
export type FamilyGroup = 'common' | 'server' | 'client' | 'spool' | 'trust' | 'tls' | 'auth' | 'quarantine';

const groups: Record<FamilyGroup, Metric[]> = {
  common: [],
  server: [],
  client: [],
  spool: [],
  trust: [],
  tls: [],
  auth: [],
  quarantine: [],
};
const exported = new Set<FamilyGroup>();

/** Registers the families of `names` (idempotent). The `common` group brings Node's process metrics too. */
export function exportFamilies(names: Iterable<FamilyGroup>): void {
  for (const name of names) {
    if (exported.has(name)) continue;
    exported.add(name);
    for (const metric of groups[name]) registry.registerMetric(metric);
    if (name === 'common') exportProcessFamilies();
  }
}

/**
 * How often the `nodejs_eventloop_lag_*` histogram samples the event loop's delay (a libuv timer). prom-client's
 * default, 10 ms, wakes an idle half 100 times a second: ~98 ms of CPU per 10 s (1% of a core, measured on the
 * development machine, more on an edge board's slower cores) for a process with nothing to do. At 100 ms a
 * stall of that length or more is always seen and a shorter one when a sample falls due during it; a scrape
 * every 15 s still holds ~150 samples, and the idle cost is ~14 ms per 10 s.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * prom-client's process and Node.js families, unprefixed on purpose: `process_*` and `nodejs_*` are the
 * names stock Node.js dashboards query. Left out: the `nodejs_active_{handles,requests,resources}_total`
 * gauges, which `promtool check metrics` rejects (a gauge named like a counter) and which are only the sums
 * of their per-type families.
 */
function exportProcessFamilies(): void {
  const scratch = new Registry();
  collectDefaultMetrics({ register: scratch, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  for (const metric of scratch.getMetricsAsArray()) {
    if (/^nodejs_active_\w+_total$/.test(metric.name)) continue;
    // getMetricsAsArray() is typed as the plain description, but holds the metric objects themselves
    registry.registerMetric(metric as unknown as Metric);
  }
}

/**
 * Adds a family to `group` (not yet exported) and returns it. Domains that observe themselves (src/spool/observe.ts)
 * declare their families through this too, with `registers: []`.
 */
export function family<M extends Metric>(group: FamilyGroup, metric: M): M {
  groups[group].push(metric);
  return metric;
}

/** A counter fed on the per-message path through hotSlot()/hotSlotsBy() (./hot.ts): flushed at each scrape. */
function hotCounter<T extends string>(cfg: CounterConfiguration<T>): Counter<T> {
  return new Counter({
    ...cfg,
    registers: [],
    collect() {
      flushHot(this);
    },
  });
}

const none = { registers: [] };

// ---- common: both halves ----

export const buildInfo = family(
  'common',
  new Gauge({
    name: 'media_gateway_build_info',
    help: 'Always 1; the labels say which gateway version runs on which Node.js and libzmq',
    labelNames: ['version', 'node', 'libzmq'] as const,
    ...none,
  }),
);
export const messagesTotal = family(
  'common',
  hotCounter({
    name: 'media_gateway_messages_total',
    help: 'Messages handled, by side (client|server) and outcome',
    labelNames: ['side', 'outcome'] as const,
  }),
);
export const bytesTotal = family(
  'common',
  hotCounter({
    name: 'media_gateway_bytes_total',
    help: 'Message bytes (message + extra frames) handled, by side and outcome',
    labelNames: ['side', 'outcome'] as const,
  }),
);
/**
 * Spans lost on the way to the OpenTelemetry collector (src/telemetry/tracing.ts): declared here, not in
 * src/telemetry/, because that folder is loaded only when tracing is configured.
 */
export const telemetrySpansDroppedTotal = family(
  'common',
  new Counter({
    name: 'media_gateway_telemetry_spans_dropped_total',
    help: 'Spans not delivered to the OpenTelemetry collector, by reason (queue_full|export_failed)',
    labelNames: ['reason'] as const,
    ...none,
  }),
);
export const httpResponsesTotal = family(
  'common',
  new Counter({
    name: 'media_gateway_http_responses_total',
    help: 'HTTP responses by side (server: sent, client: received) and status code',
    labelNames: ['side', 'status'] as const,
    ...none,
  }),
);
export const requestDuration = family(
  'common',
  new Histogram({
    name: 'media_gateway_request_duration_seconds',
    help: 'HTTP request duration by side',
    labelNames: ['side'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ...none,
  }),
);

// ---- server ----

export const zmqSendResultsTotal = family(
  'server',
  hotCounter({
    name: 'media_gateway_zmq_send_results_total',
    help: 'ZeroMQ writer results (success, ack, send_timeout, ack_timeout, error)',
    labelNames: ['result'] as const,
  }),
);

// ---- client ----

let queueDepth = 0;
/** Sets the client queue depth: a plain assignment on the per-message path, read at each scrape. */
export function setClientQueueDepth(n: number): void {
  queueDepth = n;
}
export const clientQueueDepth = family(
  'client',
  new Gauge({
    name: 'media_gateway_client_queue_depth',
    help: 'Messages read from ZeroMQ and not yet delivered',
    ...none,
    collect() {
      this.set(queueDepth);
    },
  }),
);
export const clientRetriesTotal = family(
  'client',
  new Counter({
    name: 'media_gateway_client_retries_total',
    help: 'Delivery retries by reason',
    labelNames: ['reason'] as const,
    ...none,
  }),
);
export const clientTransportErrorsTotal = family(
  'client',
  new Counter({
    name: 'media_gateway_client_transport_errors_total',
    help: 'Requests to the server that got no HTTP response (connection refused or reset, TLS failure, ...), by error code',
    labelNames: ['code'] as const,
    ...none,
  }),
);
export const deadLetteredTotal = family(
  'client',
  new Counter({
    name: 'media_gateway_dead_lettered_total',
    help: 'Messages written to the dead-letter directory, by HTTP status',
    labelNames: ['status'] as const,
    ...none,
  }),
);
export const zmqReadResultsTotal = family(
  'client',
  hotCounter({
    name: 'media_gateway_zmq_read_results_total',
    help: 'ZeroMQ reader results (message, prefix_mismatch, routing_id_mismatch, too_short, blacklisted, error)',
    labelNames: ['result'] as const,
  }),
);

export const clientRefusalsTotal = family(
  'client',
  new Counter({
    name: 'media_gateway_client_refusals_total',
    help: 'Delivery attempts refused (our certificate, the server certificate or our credentials), by reason code',
    labelNames: ['reason'] as const,
    ...none,
  }),
);
export const writerSocketsReplacedTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_writer_sockets_replaced_total',
    help: 'Writer sockets closed without lingering and replaced after an ack timeout, by socket type (what they still queued is dropped)',
    labelNames: ['type'] as const,
    ...none,
  }),
);
export const writerDroppedNoSubscriberTotal = family(
  'server',
  hotCounter({
    name: 'media_gateway_writer_dropped_no_subscriber_total',
    help: 'Messages a pub writer handed to ZeroMQ while no subscriber was connected (ZeroMQ drops them)',
  }),
);
export const writerConnectedPeers = family(
  'server',
  new Gauge({
    name: 'media_gateway_writer_connected_peers',
    help: 'Peers connected to the pub writer socket, from the libzmq socket monitor',
    ...none,
  }),
);

// ---- tls: a server that verifies client certificates ----

export const tlsRejectionsTotal = family(
  'tls',
  new Counter({
    name: 'media_gateway_tls_rejections_total',
    help: 'Client certificates refused, by reason',
    labelNames: ['reason'] as const,
    ...none,
  }),
);
export const liveConnectionsClosedTotal = family(
  'tls',
  new Counter({
    name: 'media_gateway_tls_live_connections_closed_total',
    help: 'Open connections closed because their client stopped passing verification, by reason',
    labelNames: ['reason'] as const,
    ...none,
  }),
);

// ---- trust: the hash-directory trust store of that server ----

export const trustCas = family(
  'trust',
  new Gauge({
    name: 'media_gateway_trust_ca_certificates',
    help: 'CA certificates in the trust snapshot in force',
    ...none,
  }),
);
export const trustCrls = family(
  'trust',
  new Gauge({
    name: 'media_gateway_trust_crls',
    help: 'CRLs in the trust snapshot in force',
    ...none,
  }),
);
let earliestCrlNextUpdate: Date | undefined;
/** The earliest CRL nextUpdate of the snapshot in force (undefined: no CRL); the gauge counts down from it. */
export function setEarliestCrlNextUpdate(at: Date | undefined): void {
  earliestCrlNextUpdate = at;
}
export const trustCrlSecondsToNextUpdate = family(
  'trust',
  new Gauge({
    name: 'media_gateway_trust_crl_next_update_seconds',
    help: 'Seconds from the scrape until the earliest CRL nextUpdate in the snapshot in force (negative when expired, 0 without CRLs)',
    ...none,
    // computed at the scrape, so it keeps counting down between reloads
    collect() {
      this.set(earliestCrlNextUpdate ? (earliestCrlNextUpdate.getTime() - Date.now()) / 1000 : 0);
    },
  }),
);
export const trustProblems = family(
  'trust',
  new Gauge({
    name: 'media_gateway_trust_problems',
    help: 'Problems the latest trust directory scan found, by code and severity (docs/errors.md); e.g. crl_kept, crl_rollback',
    labelNames: ['code', 'severity'] as const,
    ...none,
  }),
);
export const trustReloadsTotal = family(
  'trust',
  new Counter({
    name: 'media_gateway_trust_reloads_total',
    help: 'Trust directory reloads by result (success|failure|unchanged)',
    labelNames: ['result'] as const,
    ...none,
  }),
);
export const trustLastGoodReload = family(
  'trust',
  new Gauge({
    name: 'media_gateway_trust_last_good_reload_timestamp_seconds',
    help: 'Unix time of the last successful trust directory reload',
    ...none,
  }),
);

// ---- auth: a server with users (and certificate identities) in etcd ----

export const authOutcomesTotal = family(
  'auth',
  new Counter({
    name: 'media_gateway_auth_outcomes_total',
    help: 'Authentication/authorization outcomes by method and result',
    labelNames: ['method', 'result'] as const,
    ...none,
  }),
);
export const etcdConnected = family(
  'auth',
  new Gauge({
    name: 'media_gateway_etcd_connected',
    help: '1 while the etcd user store is reachable, 0 otherwise',
    ...none,
  }),
);
export const quarantinedUsers = family(
  'quarantine',
  new Gauge({
    name: 'media_gateway_auth_quarantined',
    help: 'Users (per client address) currently in quarantine',
    ...none,
  }),
);
