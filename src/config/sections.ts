// Configuration sections shared by the server and the client: Savant socket URLs, statistics, the
// operations listener, caches.
import { parseSocketUrl, type SocketUrl } from '../savant/url.js';
import type { CacheConfig, OpsConfig, StatisticsConfig } from './types.js';
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

export const DEFAULT_OPS_IP = '127.0.0.1';

/**
 * `ops: {ip?, port}`, or the older spelling `metrics: {ip?, port?}` (a `metrics` without a port keeps meaning
 * "/metrics on the main port"). Both at once would leave the operator guessing which one is used: an error.
 */
export function opsListener(top: ObjectReader): OpsConfig | undefined {
  const ops = top.optional('ops', (n) => opsAddress(n, true));
  const alias = top.optional('metrics', (n) => opsAddress(n, false));
  if (top.has('ops') && top.has('metrics'))
    throw top.child('metrics').error('"metrics" is the older name of "ops": give only one of them');
  return ops ?? alias;
}

function opsAddress(n: Node, portRequired: boolean): OpsConfig | undefined {
  const o = n.object();
  const ip = o.optional('ip', listenHost);
  const port = portRequired ? o.required('port', u16) : o.optional('port', u16);
  o.done();
  if (port === undefined) {
    if (ip !== undefined) throw n.error('"ip" needs a "port" for the separate operations listener');
    return undefined;
  }
  return { ip: ip ?? DEFAULT_OPS_IP, port };
}

/** An operations listener on the main address could never bind. */
export function checkOpsAddress(
  top: ObjectReader,
  main: { ip: string; port: number; ops?: OpsConfig },
): void {
  const ops = main.ops;
  if (ops && ops.port !== 0 && ops.port === main.port && ops.ip === main.ip) {
    const key = top.has('ops') ? 'ops' : 'metrics';
    throw top
      .child(key)
      .error(`the operations address is the main address: give "${key}" another port, or omit it`);
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
