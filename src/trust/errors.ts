// Errors of the live trust store, with stable codes (src/errors/index.ts, docs/errors.md).
import { GatewayError } from '../errors/index.js';

/** The trust directory is missing, not a directory, or cannot be listed. */
export class TrustDirectoryError extends GatewayError {
  declare readonly code: 'trust_directory_unusable';
  constructor(message: string) {
    super('trust_directory_unusable', message);
  }
}

/** The directory changed under a scan; its result would be partial. Scan again. */
export class ScanRaceError extends GatewayError {
  declare readonly code: 'trust_scan_race';
  constructor(message: string) {
    super('trust_scan_race', message);
  }
}

/** Node's TLS cannot build a SecureContext from a snapshot (e.g. an unsupported key type). */
export class TrustContextError extends GatewayError {
  declare readonly code: 'trust_context_invalid';
  constructor(message: string) {
    super('trust_context_invalid', message);
  }
}
