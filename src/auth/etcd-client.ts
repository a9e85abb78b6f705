// Builds the etcd3 client from the normalised `auth.basic.etcd` settings; shared by the user store and the
// `users` CLI. Fault handling is ours (the store re-syncs itself), so the library's retry and 5-second circuit
// breaker are switched off and gRPC reconnects quickly once etcd is back.
import { readFile } from 'node:fs/promises';
import { Etcd3, type IOptions } from 'etcd3';
import { noop, ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { EtcdConfig } from '../config/types.js';

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
