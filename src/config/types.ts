// Normalised configuration shapes shared by every part of the gateway.
// The loader (src/config/load.ts) turns the original's JSON (and the seed's `ssl` form) into these;
// everything downstream consumes only these types, never raw JSON.

/** A Savant ZeroMQ writer (`out_stream` of the server). Durations are whole milliseconds. */
export interface WriterConfig {
  url: string;
  sendTimeoutMs: number;
  sendRetries: number;
  receiveTimeoutMs: number;
  receiveRetries: number;
  sendHwm: number;
  receiveHwm: number;
  /** chmod applied to an ipc socket file after bind; undefined → 0o777 on ipc binds (savant default). */
  fixIpcPermissions?: number;
}

export type TopicPrefixSpec =
  { kind: 'none' } | { kind: 'source_id'; value: string } | { kind: 'prefix'; value: string };

/** When a `rep` source (or the EOS of a `router` source) gets its `OK`; `on_persist` needs a spool. */
export type AckPolicy = 'on_read' | 'on_delivery' | 'on_persist';

/** The client's durable spool (docs/spool.md); absent → messages are held in memory only. */
export interface SpoolConfig {
  dir: string;
  /** disk bytes the spool may take (segments and their finished lists) */
  maxBytes: number;
  /** full spool: stop reading ZeroMQ, evict the oldest messages, or refuse new ones */
  whenFull: 'block' | 'drop_oldest' | 'drop_newest';
  /** always: fdatasync before a message counts as persisted; periodic: every syncIntervalMs; never: OS decides */
  sync: 'always' | 'periodic' | 'never';
  syncIntervalMs: number;
  /** bytes of messages held in memory: the window out with the sender, read-back buffers (docs/spool.md) */
  memoryBytes: number;
}

/** A Savant ZeroMQ reader (`in_stream` of the client). */
export interface ReaderConfig {
  url: string;
  receiveTimeoutMs: number;
  receiveHwm: number;
  topicPrefixSpec: TopicPrefixSpec;
  /** routing-id LRU size (original name `source_cache_size`). */
  sourceCacheSize: number;
  /** bound of the queue between reader and sender. */
  inflightOps: number;
  fixIpcPermissions?: number;
  ack: AckPolicy;
}

/** `telemetry` of either half (docs/tracing.md); absent → no tracing. Durations in ms. */
export interface TelemetryConfig {
  /** how trace contexts are read from and written to Message.propagated_context and POST / headers */
  format: 'w3c' | 'jaeger';
  tracer: {
    serviceName: string;
    /** OTLP over HTTP; "grpc" is refused by the configuration reader */
    protocol: 'http_binary' | 'http_json';
    /** the collector's traces URL, used as is */
    endpoint: string;
    /** per export request */
    timeoutMs: number;
    tls?: { certificate?: string; identity?: { certificate: string; key: string } };
  };
  sampling: {
    /** share of traces (by trace id) the gateway records among messages whose context is sampled */
    ratio: number;
    /** most spans per minute for refused connections and requests (they carry no client trace) */
    rejectionsPerMinute: number;
  };
}

export interface StatisticsConfig {
  /** exactly one of the two is set */
  framePeriod?: number;
  timestampPeriodMs?: number;
}

/** Server side TLS, from either the original `tls` form or the seed's `ssl` form. */
export interface ServerTlsConfig {
  /** PEM certificate (chain, leaf first) path */
  certificate: string;
  /** PEM private key path */
  key: string;
  /** present → client certificates are required and verified against the hash directory */
  clientAuth?: ClientAuthConfig;
}

export interface ClientAuthConfig {
  /** OpenSSL hash directory (`<hash>.N`, `<hash>.rN`) */
  directory: string;
  /** CRL checking for every CA in the chain; default true */
  crlEnabled: boolean;
  /** polling fallback interval for filesystems without change events (default 1000) */
  pollIntervalMs: number;
  /** /health turns `degraded` when a CRL expires within this window (default 24 h) */
  crlExpiryWarningMs: number;
}

/** Client side TLS, from either the original `tls` form or the seed's `ssl` form. */
export interface ClientTlsConfig {
  /** CA (or self-signed server) certificate the client trusts, PEM path */
  rootCertificate?: string;
  identity?: { certificate: string; key: string };
}

export interface CacheUsageConfig {
  periodMs: number;
  evictedThreshold: number;
}

export interface CacheConfig {
  size: number;
  usage?: CacheUsageConfig;
}

export interface EtcdConfig {
  urls: string[];
  tls?: ClientTlsConfig;
  credentials?: { username: string; password: string };
  /** key prefix; user records live at `path + '/' + user` (a trailing '/' is added when missing) */
  path: string;
  dataFormat: 'json' | 'yaml';
  leaseTimeoutMs: number;
  connectTimeoutMs: number;
  cache: CacheConfig;
}

export interface BasicAuthServerConfig {
  etcd: EtcdConfig;
  cache: CacheConfig;
  quarantine?: {
    periodMs: number;
    failedAttemptLimit: number;
    /** failures and lockouts also kept in etcd for a fleet of servers (src/auth/shared-quarantine.ts) */
    shared?: { prefix: string };
  };
}

/** Maps a verified client certificate to a user record in etcd (labels only, no password). */
export interface CertificateIdentityConfig {
  /** which certificate field names the user: subject CN, or the first DNS / URI SAN */
  from: 'cn' | 'dns' | 'uri';
  /** etcd key prefix for identity records (default `<auth.basic.etcd.path>/certificates/`) */
  path?: string;
  /** refuse clients with no matching record (default true) */
  required: boolean;
}

/**
 * The operations listener (`ops`, or its alias `metrics`): plain HTTP on its own address serving /health,
 * /livez, /readyz, /metrics and /version (src/ops/listener.ts). Absent: /metrics stays on the main port.
 */
export interface OpsConfig {
  /** default 127.0.0.1: probes and scrapes are local unless the operator opens them */
  ip: string;
  port: number;
}

/**
 * What one client may cost the server (`limits`; docs/security.md explains each default). Durations are
 * whole milliseconds.
 */
export interface ServerLimits {
  /** most `data` fields (extra frames) of one Media */
  maxExtraFrames: number;
  /** most items of one MediaBatch */
  maxBatchItems: number;
  /** most routing labels of one Savant Message */
  maxRoutingLabels: number;
  /** most other top-level fields of one Media, MediaBatch or Message */
  maxOtherFields: number;
  /** open connections of the whole server (lowered to leave `fdReserve` descriptors free) */
  maxConnections: number;
  /** open connections from one client address (IPv6: one /64) */
  maxConnectionsPerAddress: number;
  /** file descriptors kept free for trust reloads, the ZeroMQ socket, logs and etcd */
  fdReserve: number;
  /** a TLS handshake must complete within this */
  tlsHandshakeTimeoutMs: number;
  /** request line and headers must arrive within this */
  headerTimeoutMs: number;
  /** a request body may pause this long between two chunks */
  bodyProgressTimeoutMs: number;
  /** bytes per second a body must average over each `bodyProgressTimeoutMs` window (0: no minimum) */
  minBodyRate: number;
  /** a whole request (headers and body) must arrive within this */
  requestTimeoutMs: number;
  /** a keep-alive connection may wait this long for its next request */
  idleTimeoutMs: number;
  /** Argon2 verifications running at once */
  maxConcurrentVerifications: number;
  /** verifications waiting for a slot; more are answered 503 at once */
  maxQueuedVerifications: number;
  /** failed Basic logins one address may make per `authFailurePeriodMs` before it gets 429 */
  authFailuresPerAddress: number;
  authFailurePeriodMs: number;
  /** (user, address) pairs in quarantine at once; a full table refuses new failures from that address */
  quarantineCapacity: number;
  /** nice value of the threads other than the event loop's (Argon2 runs there); 0 leaves them alone */
  helperThreadNice: number;
}

export interface ServerConfig {
  /** the file the config came from (for messages), undefined for the embedded default */
  source?: string;
  ip: string;
  port: number;
  /** largest accepted request body in bytes (default 64 MiB) */
  maxBodySize: number;
  outStream: WriterConfig;
  tls?: ServerTlsConfig;
  auth?: { basic?: BasicAuthServerConfig; certificateIdentity?: CertificateIdentityConfig };
  statistics?: StatisticsConfig;
  ops?: OpsConfig;
  /** absent (configurations built in code) → DEFAULT_SERVER_LIMITS of src/config/limits.ts */
  limits?: ServerLimits;
  /** PROXY protocol headers from trusted balancers (src/proxy-protocol/gate.ts) */
  proxyProtocol?: ProxyProtocolConfig;
  /** OpenTelemetry tracing (docs/tracing.md) */
  telemetry?: TelemetryConfig;
  /** accept our client's upgraded stream (`GET /stream`, src/server/stream.ts); absent = true */
  stream?: boolean;
}

export interface ProxyProtocolConfig {
  /** networks (CIDR) whose connections may carry a header: the balancers */
  trusted: string[];
  /** refuse connections without a header */
  required: boolean;
  /** a header must be complete this long after the connection is accepted */
  headerTimeoutMs: number;
  /** default DEFAULT_MAX_HEADER_BYTES */
  maxHeaderBytes?: number;
}

export interface RetryConfig {
  initialDelayMs: number;
  maximumDelayMs: number;
  multiplier: number;
}

export interface ClientConfig {
  source?: string;
  ip: string;
  port: number;
  /** server URL, POST target (the first of `urls` when several are given) */
  url: string;
  /** several servers (`urls`): each lane fails over to the next healthy one (src/client/servers.ts) */
  urls?: string[];
  inStream: ReaderConfig;
  retry: RetryConfig;
  /** accepted for compatibility; the reader is event-driven, so it has no effect */
  waitStrategy: { kind: 'yield' } | { kind: 'sleep'; ms: number };
  tls?: ClientTlsConfig;
  auth?: { basic: { username: string; password: string } };
  statistics?: StatisticsConfig;
  /** where messages the server rejects as malformed (400, 413) are written; default `./dead-letter` */
  deadLetterDir: string;
  /** SIGINT/SIGTERM: how long queued messages may take to deliver before exit (default 10 s) */
  shutdownTimeoutMs: number;
  /** HTTP transport tuning; defaults keep the original's single-message POST / working */
  transport: {
    /** 'auto' tries the batch endpoint and falls back to single-message POST / */
    mode: 'auto' | 'single' | 'batch';
    /** parallel ordered lanes (topics are hashed onto lanes) */
    lanes: number;
    /** most messages per batch request */
    maxBatchMessages: number;
    /** most bytes per batch request */
    maxBatchBytes: number;
    /**
     * a request with no progress for this long (connect, answer, response body) fails as a transport error,
     * so a frozen server is left (`urls`) within a bound; default DEFAULT_REQUEST_TIMEOUT_MS
     */
    requestTimeoutMs?: number;
    /** batches over an upgraded stream when the server offers it (src/client/stream.ts); absent = true */
    stream?: boolean;
  };
  ops?: OpsConfig;
  /** durable store-and-forward (docs/spool.md) */
  spool?: SpoolConfig;
  /** OpenTelemetry tracing (docs/tracing.md) */
  telemetry?: TelemetryConfig;
}
