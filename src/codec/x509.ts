// @peculiar/x509 wired to Node's WebCrypto, imported once. It parses CRLs (Node has no CRL API)
// and verifies their signatures; certificates are handled with node:crypto's X509Certificate.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
