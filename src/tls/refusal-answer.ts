// How the server tells a refused client *why* over HTTP, where TLS cannot: a Node TLS server sends no
// alert for a client certificate it refuses (it verifies after the handshake, see src/tls/server.ts), and a
// connection cut after a trust reload has no alert to send. A refused connection is therefore answered
// once with `401` and a JSON body `{"error":"<code>"}`, then closed. The codes are a small stable
// vocabulary shared with the client's classifier (src/client/refusal.ts) and listed in docs/errors.md.
import type http from 'node:http';
import type { RejectReason } from '../trust/index.js';

/** The `error` codes a refused client can read in the server's answer. */
export const CERTIFICATE_REFUSAL_CODES = [
  'certificate_revoked',
  'certificate_expired',
  'certificate_not_yet_valid',
  'certificate_unknown_ca',
  'certificate_bad_signature',
  'certificate_wrong_purpose',
  'certificate_required',
  'server_crl_missing',
  'server_crl_expired',
  'server_crl_not_yet_valid',
  'server_crl_rollback',
  'certificate_rejected',
] as const;
export type CertificateRefusalCode = (typeof CERTIFICATE_REFUSAL_CODES)[number];

/** Verification reasons (src/trust/verify.ts) as wire codes; a reason without an entry is `certificate_rejected`. */
const WIRE: Partial<Record<RejectReason, CertificateRefusalCode>> = {
  revoked: 'certificate_revoked',
  certificate_expired: 'certificate_expired',
  certificate_not_yet_valid: 'certificate_not_yet_valid',
  unknown_ca: 'certificate_unknown_ca',
  bad_signature: 'certificate_bad_signature',
  wrong_purpose: 'certificate_wrong_purpose',
  no_certificate: 'certificate_required',
  crl_missing: 'server_crl_missing',
  crl_expired: 'server_crl_expired',
  crl_not_yet_valid: 'server_crl_not_yet_valid',
  crl_rollback: 'server_crl_rollback',
};

export function refusalCode(reason: RejectReason): CertificateRefusalCode {
  return WIRE[reason] ?? 'certificate_rejected';
}

/** The status of every certificate refusal: the client's credential (its certificate) did not authenticate. */
export const REFUSAL_STATUS = 401;

/** How long a refused connection may live to read its one request and flush the answer before it is cut. */
export const REFUSAL_GRACE_MS = 2000;

/**
 * Answers `res` with the refusal and closes its connection: half-close after the answer so the client can
 * read it before its unread upload meets a reset, and a hard destroy after REFUSAL_GRACE_MS.
 * Returns false (and does nothing) when an answer has already started.
 */
export function answerRefusal(res: http.ServerResponse, reason: RejectReason): boolean {
  if (res.headersSent || res.writableEnded) return false;
  const body = JSON.stringify({ error: refusalCode(reason) });
  const socket = res.socket;
  res.once('finish', () => {
    socket?.end();
  });
  res.writeHead(REFUSAL_STATUS, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
  if (socket) cutAfterGrace(socket);
  return true;
}

/** Destroys `socket` after REFUSAL_GRACE_MS unless it closed by then. */
export function cutAfterGrace(socket: { destroy(): void; once(e: 'close', f: () => void): unknown }): void {
  const timer = setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
