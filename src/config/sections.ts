// Configuration sections shared by the server and the client: Savant socket URLs, statistics, metrics, caches.
import { parseSocketUrl, type SocketUrl } from '../savant/url.js';
import type { CacheConfig, MetricsConfig, StatisticsConfig } from './types.js';
import {
  duration,
  int,
  listenHost,
  nonEmptyStr,
  positive,
  u16,
  u32,
  type Node,
  type ObjectReader,
} from './fields.js';

/** A Savant ZeroMQ URL checked with the same parser the sockets use, so `--check` catches what start-up would. */
export function socketUrl(role: 'reader' | 'writer'): (n: Node) => { url: string; parsed: SocketUrl } {
  return (n) => {
    const url = nonEmptyStr(n);
    let parsed: SocketUrl;
    try {
      parsed = parseSocketUrl(url, role);
    } catch (err) {
      throw n.error(err instanceof Error ? err.message : String(err));
    }
    const ipc = parsed.endpoint.startsWith('ipc://') ? parsed.endpoint.slice('ipc://'.length) : undefined;
    if (ipc !== undefined && Buffer.byteLength(ipc) > MAX_IPC_PATH_BYTES)
      throw n.error(
        `the ipc path ${ipc} is ${Buffer.byteLength(ipc)} bytes long; a Unix socket path holds at most ${MAX_IPC_PATH_BYTES}`,
      );
    return { url, parsed };
  };
}

/** sockaddr_un.sun_path on Linux is 108 bytes including the terminating NUL. */
export const MAX_IPC_PATH_BYTES = 107;

/** `fix_ipc_permissions`: a decimal file mode (511 = 0o777), only meaningful where the socket file is created. */
export function fixIpcPermissions(o: ObjectReader, parsed: SocketUrl): number | undefined {
  const mode = o.optional('fix_ipc_permissions', int({ max: 0o7777 }));
  if (mode !== undefined && !parsed.bind) {
    throw o.child('fix_ipc_permissions').error('IPC permissions can only be set for bind sockets');
  }
  return mode;
}

export const STATISTICS_EXACTLY_ONE = 'Exactly one of frame_period and timestamp_period must be specified';

export function statistics(n: Node): StatisticsConfig {
  const o = n.object();
  const framePeriod = o.optional('frame_period', positive);
  const timestampPeriodMs = o.optional('timestamp_period', duration({ minMs: 1 }));
  o.done();
  if ((framePeriod === undefined) === (timestampPeriodMs === undefined))
    throw n.error(STATISTICS_EXACTLY_ONE);
  return framePeriod !== undefined ? { framePeriod } : { timestampPeriodMs };
}

export function metrics(n: Node): MetricsConfig {
  const o = n.object();
  const ip = o.optional('ip', listenHost);
  const port = o.optional('port', u16);
  o.done();
  if (ip !== undefined && port === undefined)
    throw n.error('"ip" needs a "port" for the separate metrics listener');
  return { ip, port };
}

/** A separate metrics listener on the main address could never bind; `/metrics` is served there anyway. */
export function checkMetricsAddress(
  top: ObjectReader,
  main: { ip: string; port: number; metrics?: MetricsConfig },
): void {
  const m = main.metrics;
  if (m?.port !== undefined && m.port === main.port && (m.ip ?? main.ip) === main.ip) {
    throw top
      .child('metrics')
      .error('the metrics address is the main address: omit "metrics" to serve /metrics on the main port');
  }
}

export function cache(n: Node): CacheConfig {
  const o = n.object();
  const size = o.required('size', positive);
  const usage = o.optional('usage', (u) => {
    const uo = u.object();
    const periodMs = uo.required('period', duration({ minMs: 1 }));
    const evictedThreshold = uo.required('evicted_threshold', u32);
    uo.done();
    return { periodMs, evictedThreshold };
  });
  o.done();
  return { size, usage };
}
