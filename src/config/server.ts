// The server configuration (`media-gateway server <config.json>`): the original's GatewayConfiguration
// (its sample files are loaded by test/config/samples.test.ts) plus our extensions, normalised into ServerConfig.
import { readConfigFile } from './read.js';
import { parseDocument, withWarnings, type ParseOptions } from './document.js';
import {
  listenHost,
  arrayOf,
  bool,
  duration,
  nonEmptyStr,
  oneOf,
  positive,
  prune,
  str,
  u16,
  usize,
  type Node,
} from './fields.js';
import { cache, checkOpsAddress, fixIpcPermissions, opsListener, socketUrl, statistics } from './sections.js';
import { clientTls, serverTls } from './tls.js';
import { telemetry } from './telemetry.js';
import { DEFAULT_SERVER_LIMITS, serverLimits } from './limits.js';
import {
  networkProblem,
  trustedNetworks,
  DEFAULT_MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
} from '../proxy-protocol/index.js';
import type {
  BasicAuthServerConfig,
  ProxyProtocolConfig,
  CertificateIdentityConfig,
  EtcdConfig,
  ServerConfig,
  WriterConfig,
} from './types.js';

export const DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024;

export interface LoadedServerConfig {
  config: ServerConfig;
  warnings: string[];
}

export function parseServerConfig(text: string, opts: ParseOptions = {}): LoadedServerConfig {
  const root = parseDocument(text, opts);
  return withWarnings(root, () => readServer(root, opts));
}

function readServer(root: Node, opts: ParseOptions): LoadedServerConfig {
  const top = root.object();
  const config: ServerConfig = {
    source: opts.file,
    ip: top.required('ip', listenHost),
    port: top.required('port', u16),
    maxBodySize: top.optional('max_body_size', positive) ?? DEFAULT_MAX_BODY_SIZE,
    outStream: top.required('out_stream', writer),
    tls: serverTls(top),
    auth: top.optional('auth', serverAuth),
    statistics: top.optional('statistics', statistics),
    ops: opsListener(top),
    limits: top.optional('limits', serverLimits) ?? { ...DEFAULT_SERVER_LIMITS },
    proxyProtocol: top.optional('proxy_protocol', proxyProtocol),
    telemetry: top.optional('telemetry', telemetry),
    stream: top.optional('stream', bool),
  };
  top.done();
  checkOpsAddress(top, config);
  if (config.auth?.certificateIdentity && !config.tls?.clientAuth) {
    throw top
      .child('auth')
      .child('certificate_identity')
      .error('needs client certificates: configure tls.peers (or ssl.client)');
  }
  return { config: prune(config), warnings: root.ctx.warnings };
}

export async function loadServerConfig(
  file: string,
  env?: NodeJS.ProcessEnv,
  opts: { allowUnknownKeys?: boolean } = {},
): Promise<LoadedServerConfig> {
  return parseServerConfig(await readConfigFile(file), { file, env, ...opts });
}

/** `out_stream`: every field is required, as in the original (its docs promised defaults serde never had). */
function writer(n: Node): WriterConfig {
  const o = n.object();
  const { url, parsed } = o.required('url', socketUrl('writer'));
  const config: WriterConfig = {
    url,
    // ZeroMQ needs at least 1 ms; the original failed at start-up with 0
    sendTimeoutMs: o.required('send_timeout', duration({ minMs: 1 })),
    sendRetries: o.required('send_retries', usize),
    receiveTimeoutMs: o.required('receive_timeout', duration({ minMs: 1 })),
    receiveRetries: o.required('receive_retries', usize),
    sendHwm: o.required('send_hwm', positive),
    receiveHwm: o.required('receive_hwm', positive),
    fixIpcPermissions: fixIpcPermissions(o, parsed),
  };
  // in the original's certificate_auth sample: a key of older versions that the server never read
  o.ignored('inflight_ops', 'the server has no in-flight queue');
  o.done();
  return config;
}

export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 3000;

/** `proxy_protocol`: the balancers allowed to name the client's address (src/proxy-protocol/gate.ts). */
function proxyProtocol(n: Node): ProxyProtocolConfig {
  const o = n.object();
  const trustedNode = o.child('trusted');
  const trusted = o.required('trusted', arrayOf(nonEmptyStr, { nonEmpty: true }));
  trusted.forEach((cidr, i) => {
    try {
      trustedNetworks([cidr]);
    } catch {
      throw trustedNode.child(i).mismatch('a network such as "10.0.0.0/8", "fd00::/8" or an address');
    }
    const problem = networkProblem(cidr);
    if (problem) throw trustedNode.child(i).error(`"${cidr}" ${problem}`);
  });
  const config: ProxyProtocolConfig = {
    trusted,
    // fail closed: once balancers are declared, a connection that bypasses them is refused unless said otherwise
    required: o.optional('required', bool) ?? true,
    headerTimeoutMs:
      o.optional('header_timeout', duration({ minMs: 1, maxMs: 60_000 })) ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS,
    maxHeaderBytes: o.optional('max_header_bytes', positive) ?? DEFAULT_MAX_HEADER_BYTES,
  };
  if (config.maxHeaderBytes! < MIN_HEADER_BYTES || config.maxHeaderBytes! > 16 + 65535)
    throw o.child('max_header_bytes').error(`must be from ${MIN_HEADER_BYTES} to ${16 + 65535} bytes`);
  o.done();
  return config;
}

function serverAuth(n: Node): NonNullable<ServerConfig['auth']> {
  const o = n.object();
  const auth = {
    basic: o.required('basic', basicAuth),
    certificateIdentity: o.optional('certificate_identity', certificateIdentity),
  };
  o.done();
  const shared = auth.basic.quarantine?.shared;
  const identityPath = auth.certificateIdentity?.path;
  // the identity store would read lockouts as identity records (its default path is under etcd.path,
  // already checked by basicAuth)
  if (shared && identityPath && overlaps(shared.prefix, identityPath))
    throw o
      .child('basic')
      .child('quarantine')
      .child('shared')
      .child('prefix')
      .error(`must not overlap auth.certificate_identity.path ("${identityPath}")`);
  return auth;
}

function basicAuth(n: Node): BasicAuthServerConfig {
  const o = n.object();
  const config = {
    etcd: o.required('etcd', etcd),
    cache: o.required('cache', cache),
    quarantine: o.optional('quarantine', (q) => {
      const qo = q.object();
      const periodMs = qo.required('period', duration({ minMs: 1 }));
      const failedAttemptLimit = qo.required('failed_attempt_limit', positive);
      const shared = qo.optional('shared', sharedQuarantine);
      qo.done();
      return { periodMs, failedAttemptLimit, ...(shared ? { shared } : {}) };
    }),
  };
  o.done();
  const shared = config.quarantine?.shared;
  if (shared && overlaps(shared.prefix, config.etcd.path)) {
    // the user store would read lockouts as user records (or the other way round)
    throw o
      .child('quarantine')
      .child('shared')
      .child('prefix')
      .error(`must not overlap auth.basic.etcd.path ("${config.etcd.path}")`);
  }
  return config;
}

/** One etcd prefix contains the other (compared as directories: "/users" and "/users2" do not overlap). */
function overlaps(a: string, b: string): boolean {
  const dir = (p: string) => (p.endsWith('/') ? p : p + '/');
  return dir(a).startsWith(dir(b)) || dir(b).startsWith(dir(a));
}

/** `auth.basic.quarantine.shared`: where in the users' etcd the fleet's failures and lockouts live. */
function sharedQuarantine(n: Node): { prefix: string } {
  const o = n.object();
  const prefix = o.required('prefix', nonEmptyStr);
  // like the other etcd paths: a relative or `//` prefix would not compare with them (overlaps below)
  if (!prefix.startsWith('/') || prefix.includes('//'))
    throw o
      .child('prefix')
      .error('must be an absolute etcd prefix such as "/media-gateway/quarantine/", without "//"');
  o.done();
  return { prefix };
}

function etcd(n: Node): EtcdConfig {
  const o = n.object();
  const urlsNode = o.child('urls');
  const rawUrls = o.required('urls', arrayOf(nonEmptyStr, { nonEmpty: true }));
  const tls = clientTls(o);
  const config: EtcdConfig = {
    urls: rawUrls.map((u, i) => etcdUrl(u, tls !== undefined, urlsNode.child(i))),
    tls,
    credentials: o.optional('credentials', (c) => {
      const co = c.object();
      const creds = { username: co.required('username', str), password: co.required('password', str, true) };
      co.done();
      return creds;
    }),
    path: o.required('path', str),
    dataFormat: o.required('data_format', oneOf('json', 'yaml')),
    leaseTimeoutMs: o.required('lease_timeout', duration({ minMs: 1 })),
    connectTimeoutMs: o.required('connect_timeout', duration({ minMs: 1 })),
    cache: o.required('cache', cache),
  };
  o.done();
  return config;
}

/**
 * etcd endpoints may be written without a scheme (as the Rust etcd client allowed); we add the one the TLS
 * setting implies. An explicit http:// together with TLS settings would silently drop TLS, so it is refused.
 */
function etcdUrl(url: string, tls: boolean, n: Node): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `${tls ? 'https' : 'http'}://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw n.mismatch('an etcd endpoint URL such as "https://etcd:2379"');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw n.mismatch('an http:// or https:// etcd endpoint');
  }
  if (tls && parsed.protocol === 'http:') {
    throw n.error('etcd TLS settings are given but this endpoint is http://: use https://');
  }
  return withScheme;
}

function certificateIdentity(n: Node): CertificateIdentityConfig {
  const o = n.object();
  const config: CertificateIdentityConfig = {
    from: o.optional('from', oneOf('cn', 'dns', 'uri')) ?? 'cn',
    path: o.optional('path', nonEmptyStr),
    required: o.optional('required', bool) ?? true,
  };
  o.done();
  return config;
}
