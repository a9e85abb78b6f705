// The PeerIdentity of a client certificate, from node:crypto's X509Certificate.
import type { X509Certificate } from 'node:crypto';
import type { PeerIdentity } from './identity.js';
// not from ../codec/index.js, which loads @peculiar/x509: this module runs in the client too
import { normalizeSerial } from '../codec/serial.js';

/** Node prints names one RDN per line, most significant first; RFC 2253 lists them the other way. */
export function rfc2253(name: string): string {
  return name.split('\n').filter(Boolean).reverse().join(',');
}

function sanValues(san: string | undefined, prefix: string): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((e) => e.startsWith(prefix))
    .map((e) => e.slice(prefix.length).replace(/^"|"$/g, ''));
}

export function peerIdentity(cert: X509Certificate): PeerIdentity {
  const cn = cert.subject
    .split('\n')
    .filter((l) => l.startsWith('CN='))
    .pop();
  const id: PeerIdentity = {
    subject: rfc2253(cert.subject),
    issuer: rfc2253(cert.issuer),
    serial: normalizeSerial(cert.serialNumber),
    dnsNames: sanValues(cert.subjectAltName, 'DNS:'),
    uris: sanValues(cert.subjectAltName, 'URI:'),
    fingerprint256: cert.fingerprint256,
  };
  if (cn) id.commonName = cn.slice(3);
  return id;
}
