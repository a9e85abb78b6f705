// The server's `limits` section: what one client may cost the server (decode bounds, connection budget,
// timeouts, the Argon2 budget). Every key is optional and falls back to a default that is safe without
// tuning; docs/security.md gives the reasoning behind each default.
import os from 'node:os';
import { duration, int, positive, type Node } from './fields.js';
import type { ServerLimits } from './types.js';

/** One Argon2 verification keeps a core busy for ~0.2 s: leave at least one core to the traffic. */
export function defaultVerificationConcurrency(cores = os.availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxExtraFrames: 64,
  maxBatchItems: 1024,
  maxRoutingLabels: 256,
  maxOtherFields: 64,
  maxConnections: 1024,
  maxConnectionsPerAddress: 64,
  fdReserve: 256,
  tlsHandshakeTimeoutMs: 10_000,
  headerTimeoutMs: 10_000,
  bodyProgressTimeoutMs: 10_000,
  minBodyRate: 1024,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 65_000,
  maxConcurrentVerifications: defaultVerificationConcurrency(),
  maxQueuedVerifications: 4,
  authFailuresPerAddress: 10,
  authFailurePeriodMs: 60_000,
  quarantineCapacity: 100_000,
  helperThreadNice: 0,
});

/** Configuration key → field of ServerLimits, with its reader; the table docs/security.md mirrors. */
const KEYS: [string, keyof ServerLimits, (n: Node) => number][] = [
  ['max_extra_frames', 'maxExtraFrames', positive],
  ['max_batch_items', 'maxBatchItems', positive],
  ['max_routing_labels', 'maxRoutingLabels', positive],
  ['max_other_fields', 'maxOtherFields', positive],
  ['max_connections', 'maxConnections', positive],
  ['max_connections_per_address', 'maxConnectionsPerAddress', positive],
  ['fd_reserve', 'fdReserve', positive],
  ['tls_handshake_timeout', 'tlsHandshakeTimeoutMs', duration({ minMs: 1 })],
  ['header_timeout', 'headerTimeoutMs', duration({ minMs: 1 })],
  ['body_progress_timeout', 'bodyProgressTimeoutMs', duration({ minMs: 1 })],
  ['min_body_rate', 'minBodyRate', int()],
  ['request_timeout', 'requestTimeoutMs', duration({ minMs: 1 })],
  ['idle_timeout', 'idleTimeoutMs', duration({ minMs: 1 })],
  ['max_concurrent_verifications', 'maxConcurrentVerifications', positive],
  ['max_queued_verifications', 'maxQueuedVerifications', positive],
  ['auth_failures_per_address', 'authFailuresPerAddress', positive],
  ['auth_failure_period', 'authFailurePeriodMs', duration({ minMs: 1 })],
  ['quarantine_capacity', 'quarantineCapacity', positive],
  ['helper_thread_nice', 'helperThreadNice', int({ max: 19 })],
];

export function serverLimits(n: Node): ServerLimits {
  const o = n.object();
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS };
  for (const [key, field, read] of KEYS) {
    const value = o.optional(key, read);
    if (value !== undefined) limits[field] = value;
  }
  o.done();
  if (limits.headerTimeoutMs > limits.requestTimeoutMs) {
    throw o.child('header_timeout').error('must not be longer than request_timeout');
  }
  return limits;
}
