// Basic auth in tests: the original's documented Argon2 hashes, config objects pointing at a test etcd,
// and the Authorization header.
import type { BasicAuthServerConfig, EtcdConfig } from '../../src/config/types.js';
import type { RunningEtcd } from './etcd.js';

/** From compat/original-argon2-hashes.md (the original's documentation). */
export const VECTORS: Record<string, string> = {
  password:
    '$argon2i$v=19$m=12,t=3,p=1$RzNHVVBjQXo4WUNBUUZYSnlOaGc$9Jmizcl1dv6maVzyIiuMV1OB1P9l6PKLbdmNjJDIgaU',
  password1:
    '$argon2i$v=19$m=12,t=3,p=1$YXkzZmx1eTFwVW5hZ0R2S1dXazA$VxVMw2Omh1CeVqry8Cay+4OZ69OGvn4fma2M5rURZhI',
  password2:
    '$argon2i$v=19$m=12,t=3,p=1$c0ZYQ1d3VWxabmx0ZUVmWDNIeVk$qHLr2T3xvedA5zZfTZhbNt3sXB9pa/xlFQ9dVmZG8DQ',
};

export function etcdConfig(etcd: RunningEtcd, over: Partial<EtcdConfig> = {}): EtcdConfig {
  return {
    urls: [etcd.url],
    path: '/users',
    dataFormat: 'json',
    leaseTimeoutMs: 60_000,
    connectTimeoutMs: 2000,
    cache: { size: 10 },
    ...(etcd.tls
      ? {
          tls: {
            rootCertificate: etcd.tls.caFile,
            identity: { certificate: etcd.tls.clientCert, key: etcd.tls.clientKey },
          },
        }
      : {}),
    ...over,
  };
}

export function basicConfig(
  etcd: RunningEtcd,
  over: Partial<BasicAuthServerConfig> = {},
  etcdOver: Partial<EtcdConfig> = {},
): BasicAuthServerConfig {
  return { etcd: etcdConfig(etcd, etcdOver), cache: { size: 100 }, ...over };
}

export function basic(user: string, password?: string): string {
  return 'Basic ' + Buffer.from(password === undefined ? user : `${user}:${password}`).toString('base64');
}
