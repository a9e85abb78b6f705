// A complete throw-away PKI made in-process with this product's own code: a root CA, a server and a
// client certificate, and a trust hash directory holding the CA and its CRL. Used by the demo
// (src/cli/demo.ts), the benchmarks (src/bench/) and tests.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { initCa } from './ca.js';
import { issueCertificate } from './issue.js';
import { generateCrl } from './crl.js';
import { storeAdd } from './hash-dir.js';

export interface DemoPki {
  hashDir: string;
  caDir: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  caCert: string;
}

export async function makePki(dir: string): Promise<DemoPki> {
  const caDir = path.join(dir, 'ca');
  const hashDir = path.join(dir, 'trust');
  await mkdir(hashDir, { recursive: true });
  await initCa(caDir, { cn: 'Demo Root CA' });
  const server = await issueCertificate(caDir, 'server', 'server', {
    san: ['IP:127.0.0.1', 'DNS:localhost'],
  });
  const client = await issueCertificate(caDir, 'client', 'client', { cn: 'demo-client' });
  await storeAdd(hashDir, [path.join(caDir, 'ca.crt')]);
  await generateCrl(caDir, { publishTo: hashDir });
  return {
    hashDir,
    caDir,
    serverCert: server.certPath,
    serverKey: server.keyPath,
    clientCert: client.certPath,
    clientKey: client.keyPath,
    caCert: path.join(caDir, 'ca.crt'),
  };
}
