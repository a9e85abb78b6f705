// Errors of the server's limits, with stable codes for scripts and tests.
import { GatewayError } from '../errors/index.js';

export type LimitErrorCode =
  /** the file-descriptor reserve leaves no room for a single connection */
  'fd_reserve_too_large';

export class LimitError extends GatewayError {
  declare readonly code: LimitErrorCode;
  constructor(code: LimitErrorCode, message: string) {
    super(code, message);
  }
}
