// The live client-certificate trust of the server: an OpenSSL hash directory scanned into immutable
// snapshots (./scan.ts), published with the TLS context built from them as one state (./store.ts),
// reloaded by file events, polling and CRL validity instants (./reload-scheduler.ts), observed by metrics
// and logs (./observe.ts), judged for health (./health.ts), and the per-connection re-check (./verify.ts).
// Importing this index loads the x509 libraries; src/server/gateway.ts loads src/tls/server.ts lazily
// for that reason and so imports nothing from here eagerly.
export {
  TrustStore,
  buildTrustState,
  type TrustState,
  type ReloadOutcome,
  type TrustStoreOptions,
} from './store.js';
export { ReloadScheduler, type ReloadSchedulerOptions } from './reload-scheduler.js';
export { observeTrust } from './observe.js';
export { trustHealth, type TrustHealth } from './health.js';
export {
  scanHashDirectory,
  nextTimeEvent,
  PROBLEM_CODES,
  MAX_HASH_INDEX,
  MAX_TRUST_FILE_BYTES,
  MAX_PEM_BLOCKS_PER_FILE,
  type Problem,
  type ProblemCode,
  type ScanResult,
  type ScanOptions,
} from './scan.js';
export {
  verifyPeerChain,
  reasonFromAuthorizationError,
  REJECT_REASONS,
  type RejectReason,
  type VerifyResult,
} from './verify.js';
export { crlStanding, crlsOf, type CrlStanding } from './crl-standing.js';
export { contextTrust, type TrustSnapshot, type CaEntry, type CrlEntry } from './snapshot.js';
export { TrustDirectoryError, ScanRaceError, TrustContextError } from './errors.js';
