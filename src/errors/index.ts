// The one base class of every error this project raises on purpose, and the list of their codes.
// Each error has a stable `code` (snake_case, for scripts, tests and logs) and a `name` (its class); the
// wording of `message` may change, the code does not. Every code an operator can see is documented in
// docs/errors.md (test/errors/documented.test.ts fails otherwise). Add a code here before raising it.

export const ERROR_CODES = [
  // configuration (src/config/errors.ts)
  'config_invalid',
  'config_unknown_key',
  // command-line usage (src/cli/, src/bench/options.ts)
  'usage_invalid',
  // server limits (src/limits/errors.ts)
  'fd_reserve_too_large',
  // client spool (src/spool/)
  'spool_unusable',
  'spool_locked',
  'spool_not_found',
  // ZeroMQ endpoints (src/savant/)
  'socket_url_invalid',
  'socket_closed',
  'eos_unconfirmed',
  'ipc_permissions',
  'ipc_path_invalid',
  'ipc_endpoint_in_use',
  'ipc_path_not_socket',
  'ipc_probe_failed',
  'message_undecodable',
  'decode_limit',
  // users and routing labels in etcd (src/auth/)
  'user_store_unavailable',
  'user_record_invalid',
  'label_rule_invalid',
  // PKI commands (src/pki/)
  'pki_failed',
  // TLS identity and trust directory (src/tls/, src/trust/, src/codec/)
  'identity_file_invalid',
  'trust_directory_unusable',
  'trust_scan_race',
  'trust_context_invalid',
  'der_malformed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class GatewayError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A certificate, CRL or name that is not the DER it claims to be (src/codec/). */
export class DerError extends GatewayError {
  declare readonly code: 'der_malformed';
  constructor(message: string) {
    super('der_malformed', message);
  }
}

/** A command line the command does not accept; the CLI prints the message and its usage, exit status 2. */
export class UsageError extends GatewayError {
  declare readonly code: 'usage_invalid';
  constructor(message: string) {
    super('usage_invalid', message);
  }
}
