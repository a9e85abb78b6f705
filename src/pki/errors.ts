// Errors meant for the operator: the CLI prints the message alone (no stack) and exits non-zero.

export class PkiError extends Error {
  constructor(
    message: string,
    /** process exit code the CLI should use */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'PkiError';
  }
}
