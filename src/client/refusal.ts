// Why a delivery attempt failed, as one stable reason code an operator can act on (docs/errors.md):
// * the server refuses our client certificate: from the server's answer (`401 {"error":"certificate_…"}`,
//   src/tls/refusal-answer.ts) or from a TLS alert of a server that sends one (OpenSSL-based proxies);
// * our trust refuses the server: Node's verification error of the server certificate;
// * the credentials are refused: 401 / 403 without a certificate code;
// * transport faults: refused, reset or closed connections, timeouts, unknown hosts.
// HTTP answers other than 401/403 (5xx, ack timeouts, ...) are not classified here: the server took the
// request, so they are per-message failures of src/client/sender.ts.
import { CERTIFICATE_REFUSAL_CODES, type CertificateRefusalCode } from '../tls/refusal-answer.js';
import { REFUSAL_STATUSES, STATUS } from '../contract/index.js';
import { peerText } from '../util/index.js';
import type { PostOutcome } from './http.js';

export type FailureKind = 'certificate_refused' | 'server_untrusted' | 'auth_refused' | 'transport';

export interface DeliveryFailure {
  /** stable code, e.g. `certificate_revoked`, `server_untrusted`, `connection_refused` */
  reason: string;
  kind: FailureKind;
  /** what the peer or the TLS stack said, escaped for logs */
  detail: string;
}

/** A refusal needs someone to change a certificate, a trust file or a credential: retrying soon cannot help. */
export function isRefusal(f: DeliveryFailure): boolean {
  return f.kind !== 'transport';
}

/** TLS alerts a server may send about our certificate (OpenSSL's error codes as Node reports them). */
const ALERTS: Record<string, CertificateRefusalCode> = {
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'certificate_revoked',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate_expired',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'certificate_unknown_ca',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'certificate_required',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'certificate_wrong_purpose',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'certificate_rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'certificate_rejected',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'certificate_rejected',
};

/** Node's verification errors of the server certificate (OpenSSL X509_V_ERR names). */
const SERVER_TRUST: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'server_untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'server_untrusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'server_untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'server_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'server_untrusted',
  CERT_UNTRUSTED: 'server_untrusted',
  CERT_REJECTED: 'server_untrusted',
  CERT_SIGNATURE_FAILURE: 'server_untrusted',
  INVALID_CA: 'server_untrusted',
  CERT_CHAIN_TOO_LONG: 'server_untrusted',
  PATH_LENGTH_EXCEEDED: 'server_untrusted',
  INVALID_PURPOSE: 'server_untrusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'server_name_mismatch',
  CERT_HAS_EXPIRED: 'server_certificate_expired',
  CERT_NOT_YET_VALID: 'server_certificate_not_yet_valid',
  CERT_REVOKED: 'server_certificate_revoked',
};

const TRANSPORT: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  // undici: the server closed the connection before answering
  UND_ERR_SOCKET: 'connection_closed',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ENOTFOUND: 'host_not_found',
  EAI_AGAIN: 'host_not_found',
  EHOSTUNREACH: 'network_unreachable',
  ENETUNREACH: 'network_unreachable',
};

const KNOWN_CODES = new Set<string>(CERTIFICATE_REFUSAL_CODES);

/** The reasons classified outside the tables above. */
const OTHER_REASONS = [
  'certificate_required',
  'auth_refused',
  'auth_forbidden',
  'tls_handshake_failed',
  'transport_error',
] as const;

/** Every `reason` a delivery failure can carry, documented in docs/errors.md (test/errors/documented.test.ts). */
export const DELIVERY_FAILURE_REASONS: readonly string[] = [
  ...new Set([
    ...CERTIFICATE_REFUSAL_CODES,
    ...Object.values(ALERTS),
    ...Object.values(SERVER_TRUST),
    ...Object.values(TRANSPORT),
    ...OTHER_REASONS,
  ]),
];

/**
 * The failure of one POST, or undefined when the server answered with something other than 401/403.
 * `presentsCertificate`: whether we offered a client certificate (a bare handshake-failure alert means
 * "certificate required" only when we did not).
 */
export function classifyFailure(
  out: PostOutcome,
  opts: { presentsCertificate: boolean },
): DeliveryFailure | undefined {
  if (out.kind === 'response') return classifyAnswer(out.status, out.body);
  return classifyError(out.error, opts.presentsCertificate);
}

function classifyAnswer(status: number, body: string): DeliveryFailure | undefined {
  if (!REFUSAL_STATUSES.has(status)) return undefined;
  const detail = `HTTP ${status}${body ? ` ${peerText(body, 120)}` : ''}`;
  const code = errorCode(body);
  if (code && KNOWN_CODES.has(code)) return { reason: code, kind: 'certificate_refused', detail };
  return {
    reason: status === STATUS.refused ? 'auth_refused' : 'auth_forbidden',
    kind: 'auth_refused',
    detail,
  };
}

/** The `error` member of a JSON object body, if there is one. */
function errorCode(body: string): string | undefined {
  if (!body.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    const code = (parsed as { error?: unknown } | null)?.error;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function classifyError(error: Error, presentsCertificate: boolean): DeliveryFailure {
  const chain = causes(error);
  const detail = peerText(chain.map((e) => readable(e.message)).join(': '));
  for (const { code } of chain) {
    if (!code) continue;
    if (ALERTS[code]) return { reason: ALERTS[code], kind: 'certificate_refused', detail };
    if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' && !presentsCertificate)
      return { reason: 'certificate_required', kind: 'certificate_refused', detail };
    if (SERVER_TRUST[code]) return { reason: SERVER_TRUST[code], kind: 'server_untrusted', detail };
    if (TRANSPORT[code]) return { reason: TRANSPORT[code], kind: 'transport', detail };
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
      return { reason: 'tls_handshake_failed', kind: 'transport', detail };
  }
  return { reason: 'transport_error', kind: 'transport', detail };
}

/** OpenSSL's `<id>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>:…` shortened to its reason. */
function readable(message: string): string {
  const openssl = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(message);
  return openssl ? openssl[1] : message.trim();
}

/** The error and its `cause`s (undici wraps the socket error), at most a few deep. */
function causes(error: Error): { code?: string; message: string }[] {
  const out: { code?: string; message: string }[] = [];
  let e: unknown = error;
  while (e instanceof Error && out.length < 4) {
    const code = (e as { code?: unknown }).code;
    out.push({ code: typeof code === 'string' ? code : undefined, message: e.message });
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}
