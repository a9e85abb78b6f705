// Certificate codecs at the bottom of the dependency graph: PEM framing, a minimal DER reader/writer,
// OpenSSL's X.509 name hash, and @peculiar/x509 wired to Node's WebCrypto. Used by src/trust/ (scanning
// the hash directory), src/pki/ (making certificates and CRLs), src/tls/ and src/preflight/; imports
// nothing from them.
export { splitPem, toPem, type PemBlock } from './pem.js';
export { readTlv, children, encodeTlv, TAG_SEQUENCE, TAG_SET, type Tlv } from './der.js';
export {
  canonicalName,
  certificateSubjectDer,
  certificateSubjectHash,
  crlIssuerDer,
  crlIssuerHash,
  nameHash,
  nameHashOld,
} from './name-hash.js';
export { x509 } from './x509.js';
export { normalizeSerial } from './serial.js';
