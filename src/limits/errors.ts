// Errors of the server's limits, with stable codes for scripts and tests.

export type LimitErrorCode =
  /** the file-descriptor reserve leaves no room for a single connection */
  'FD_RESERVE_TOO_LARGE';

export class LimitError extends Error {
  override name = 'LimitError';

  constructor(
    readonly code: LimitErrorCode,
    message: string,
  ) {
    super(message);
  }
}
