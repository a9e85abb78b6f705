// Errors meant for the operator: the CLI prints the message alone (no stack) and exits non-zero.
import { GatewayError } from '../errors/index.js';

export class PkiError extends GatewayError {
  declare readonly code: 'pki_failed';
  constructor(
    message: string,
    /** process exit code the CLI should use */
    readonly exitCode = 1,
  ) {
    super('pki_failed', message);
  }
}
