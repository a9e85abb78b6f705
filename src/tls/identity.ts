// The verified identity of a TLS client, as seen by authorization and logging.

export interface PeerIdentity {
  /** RFC 2253-ish display form of the subject, e.g. `CN=client.example.com,O=Org` */
  subject: string;
  issuer: string;
  /** lowercase hex, no leading zeros */
  serial: string;
  commonName?: string;
  dnsNames: string[];
  uris: string[];
  fingerprint256: string;
}
