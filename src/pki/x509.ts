// One place that prepares @peculiar/x509 for Node: it needs reflect-metadata loaded first and a
// WebCrypto provider. Every PKI module imports `x509` from here instead of from the package.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
