// TLS for both halves: the server's HTTPS listener with live client-certificate trust (./server.ts), the
// refusal answer a refused client reads (./refusal-answer.ts), the client's TLS options (./client.ts),
// identity files (./identity-files.ts) and the peer identity taken from a certificate (./peer.ts).
export { createSecureListener, type SecureListener, type SecureListenerOptions } from './server.js';
export {
  CERTIFICATE_REFUSAL_CODES,
  REFUSAL_STATUS,
  REFUSAL_GRACE_MS,
  refusalCode,
  answerRefusal,
  type CertificateRefusalCode,
} from './refusal-answer.js';
export { loadClientTls } from './client.js';
export {
  loadIdentityFiles,
  readCertificates,
  IdentityFileError,
  type IdentityPem,
} from './identity-files.js';
export { peerIdentity, rfc2253 } from './peer.js';
export type { PeerIdentity } from './identity.js';
