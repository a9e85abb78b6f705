// The configuration of both halves: JSON/YAML files read strictly (unknown keys are errors, see
// ./fields.ts), environment substitution, defaults, limits, and ConfigError naming the file, JSON path,
// what was expected and what was found.
export { checkReferencedFiles } from './check.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, loadClientConfig } from './client.js';
export { defaultClientConfig, defaultServerConfig } from './defaults.js';
export { ConfigError } from './errors.js';
export { originOf } from './fields.js';
export { DEFAULT_SERVER_LIMITS } from './limits.js';
export { loadServerConfig } from './server.js';
export type {
  BasicAuthServerConfig,
  CacheConfig,
  CertificateIdentityConfig,
  ClientAuthConfig,
  ClientConfig,
  ClientTlsConfig,
  EtcdConfig,
  ProxyProtocolConfig,
  ReaderConfig,
  RetryConfig,
  ServerConfig,
  ServerLimits,
  ServerTlsConfig,
  StatisticsConfig,
  TelemetryConfig,
  TopicPrefixSpec,
  WriterConfig,
} from './types.js';
