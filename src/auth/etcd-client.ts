// Builds the etcd3 client from the normalised `auth.basic.etcd` settings; shared by the user store and the
// `users` CLI. Fault handling is ours (the store re-syncs itself), so the library's retry and 5-second circuit
// breaker are switched off and gRPC reconnects quickly once etcd is back.
import { readFile } from 'node:fs/promises';
import { Etcd3, type IOptions } from 'etcd3';
import { noop, ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { EtcdConfig } from '../config/index.js';

/** etcd refuses keep-alive pings more often than its `--grpc-keepalive-min-time` (5 s by default). */
const MIN_KEEPALIVE_MS = 5000;

export function etcdPrefix(path: string): string {
  return path.endsWith('/') ? path : path + '/';
}

export async function createEtcdClient(cfg: EtcdConfig): Promise<Etcd3> {
  const opts: IOptions = {
    hosts: cfg.urls,
    dialTimeout: cfg.connectTimeoutMs,
    // lease_timeout bounds how long a silent etcd (no RST, e.g. a network partition) goes unnoticed:
    // a keep-alive ping every half of it, and the connection is dropped when a ping stays unanswered
    // for the other half.
    grpcOptions: {
      'grpc.keepalive_time_ms': Math.max(MIN_KEEPALIVE_MS, Math.floor(cfg.leaseTimeoutMs / 2)),
      'grpc.keepalive_timeout_ms': Math.max(1000, Math.floor(cfg.leaseTimeoutMs / 2)),
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    },
    faultHandling: {
      host: () => noop,
      global: noop,
      // etcd3 declares an IBackoff here but calls `.next()` on it first, i.e. it wants the factory
      watchBackoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: 1000,
      }) as unknown as IBackoff<unknown>,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + cfg.connectTimeoutMs }),
  };
  if (cfg.tls) {
    const { rootCertificate, identity } = cfg.tls;
    // gRPC wants a root certificate whenever TLS credentials are given; without one the system roots apply.
    opts.credentials = {
      rootCertificate: rootCertificate ? await readFile(rootCertificate) : (undefined as unknown as Buffer),
      ...(identity
        ? { certChain: await readFile(identity.certificate), privateKey: await readFile(identity.key) }
        : {}),
    };
  }
  if (cfg.credentials) opts.auth = { username: cfg.credentials.username, password: cfg.credentials.password };
  return new Etcd3(opts);
}

/**
 * gRPC's text for an unreachable etcd ("14 UNAVAILABLE: No connection established. Last error: Error:
 * connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ") reduced to its cause ("connect ECONNREFUSED
 * 127.0.0.1:2379"), for logs and CLI messages.
 */
export function grpcCause(message: string): string {
  const cleaned = message.replace(/\s*Resolution note:\s*$/, '').trim();
  const last = /Last error: (?:Error: )?(.*?)\.?$/.exec(cleaned);
  if (last) return last[1];
  return cleaned.replace(/^\d+ [A-Z_]+: /, '').replace(/\.$/, '');
}

/** One line for an etcd operation that failed: where, what was tried, the cause, and what to check. */
export function describeEtcdFailure(err: unknown, cfg: EtcdConfig): string {
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.constructor.name : '';
  const where = `etcd at ${cfg.urls.join(', ')}`;
  if (/Auth|Permission/i.test(name))
    return `${where} refused the request (${grpcCause(message)}): check auth.basic.etcd.credentials and the etcd user's role`;
  return (
    `cannot reach ${where} (tried for up to ${cfg.connectTimeoutMs} ms: ${grpcCause(message)}): ` +
    `check that etcd runs and listens there, the urls in auth.basic.etcd, and its TLS settings`
  );
}
