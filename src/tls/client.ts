// TLS options for the gateway's HTTPS client (and etcd): the trusted server CA and the client
// identity presented for client-certificate authentication.
import type { ClientTlsConfig } from '../config/index.js';
import { loadIdentityFiles, readCertificates } from './identity-files.js';

export async function loadClientTls(
  cfg: ClientTlsConfig,
): Promise<{ ca?: string[]; cert?: string; key?: string }> {
  const out: { ca?: string[]; cert?: string; key?: string } = {};
  if (cfg.rootCertificate) out.ca = [await readCertificates(cfg.rootCertificate, 'root certificate')];
  if (cfg.identity) {
    const id = await loadIdentityFiles(cfg.identity.certificate, cfg.identity.key);
    out.cert = id.cert;
    out.key = id.key;
  }
  return out;
}
