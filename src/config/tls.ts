// TLS sections in both spellings: the original's `tls` and the seed document's `ssl`. Both normalise to the
// same ServerTlsConfig / ClientTlsConfig; the JSON path each file came from is remembered for later messages.
import type { ClientAuthConfig, ClientTlsConfig, ServerTlsConfig } from './types.js';
import { bool, duration, filePath, noteOrigin, type ObjectReader } from './fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads `tls` or `ssl` of a server configuration (never both). */
export function serverTls(top: ObjectReader): ServerTlsConfig | undefined {
  const form = tlsForm(top);
  if (form === 'tls') {
    return top.required('tls', (n) => {
      const o = n.object();
      const { certificate, key, origins } = o.required('identity', (i) => {
        const io = i.object();
        const pair = { certificate: io.required('certificate', filePath), key: io.required('key', filePath) };
        io.done();
        return { ...pair, origins: { certificate: io.pathOf('certificate'), key: io.pathOf('key') } };
      });
      const clientAuth = o.optional('peers', (p) =>
        clientAuthFrom(p.object(), 'lookup_hash_directory', (po) => po.required('crl_enabled', bool)),
      );
      o.done();
      return withOrigins({ certificate, key, clientAuth }, origins);
    });
  }
  if (form === 'ssl') {
    return top.required('ssl', (n) => {
      const o = n.object();
      const { certificate, key, origins } = o.required('server', (s) => {
        const so = s.object();
        const pair = {
          certificate: so.required('certificate', filePath),
          key: so.required('certificate_key', filePath),
        };
        so.done();
        return {
          ...pair,
          origins: { certificate: so.pathOf('certificate'), key: so.pathOf('certificate_key') },
        };
      });
      const clientAuth = o.optional('client', (c) =>
        clientAuthFrom(c.object(), 'certificate_directory', (co) => co.optional('crl_enabled', bool) ?? true),
      );
      o.done();
      return withOrigins({ certificate, key, clientAuth }, origins);
    });
  }
  return undefined;
}

function clientAuthFrom(
  o: ObjectReader,
  directoryKey: string,
  crl: (o: ObjectReader) => boolean,
): ClientAuthConfig {
  const directory = o.required(directoryKey, filePath);
  const crlEnabled = crl(o);
  // our extensions, accepted in either spelling
  const pollIntervalMs = o.optional('poll_interval', duration({ minMs: 1 })) ?? 1000;
  const crlExpiryWarningMs =
    o.optional('crl_expiry_warning', duration({ maxMs: Number.MAX_SAFE_INTEGER })) ?? DAY_MS;
  o.done();
  return withOrigins(
    { directory, crlEnabled, pollIntervalMs, crlExpiryWarningMs },
    { directory: o.pathOf(directoryKey) },
  );
}

/** Reads `tls` or `ssl` of a client (or of an etcd connection). */
export function clientTls(parent: ObjectReader): ClientTlsConfig | undefined {
  const form = tlsForm(parent);
  if (form === 'tls') {
    return parent.required('tls', (n) => {
      const o = n.object();
      const rootCertificate = o.optional('root_certificate', filePath);
      const identity = o.optional('identity', (i) => {
        const io = i.object();
        const pair = { certificate: io.required('certificate', filePath), key: io.required('key', filePath) };
        io.done();
        return withOrigins(pair, { certificate: io.pathOf('certificate'), key: io.pathOf('key') });
      });
      o.done();
      return withOrigins({ rootCertificate, identity }, { rootCertificate: o.pathOf('root_certificate') });
    });
  }
  if (form === 'ssl') {
    return parent.required('ssl', (n) => {
      const o = n.object();
      const server = o.optional('server', (s) => {
        const so = s.object();
        const certificate = so.required('certificate', filePath);
        so.done();
        return { certificate, origin: so.pathOf('certificate') };
      });
      const identity = o.optional('client', (c) => {
        const co = c.object();
        const pair = {
          certificate: co.required('certificate', filePath),
          key: co.required('certificate_key', filePath),
        };
        co.done();
        return withOrigins(pair, {
          certificate: co.pathOf('certificate'),
          key: co.pathOf('certificate_key'),
        });
      });
      o.done();
      const result = { rootCertificate: server?.certificate, identity };
      return server ? withOrigins(result, { rootCertificate: server.origin }) : result;
    });
  }
  return undefined;
}

function tlsForm(o: ObjectReader): 'tls' | 'ssl' | undefined {
  // both keys are known here, even when null
  o.child('tls');
  o.child('ssl');
  const hasTls = o.has('tls');
  const hasSsl = o.has('ssl');
  if (hasTls && hasSsl) {
    throw o.node.error(
      'both "tls" and "ssl" are given: they are two spellings of the same settings, use one',
    );
  }
  return hasTls ? 'tls' : hasSsl ? 'ssl' : undefined;
}

function withOrigins<T extends object>(target: T, origins: Record<string, string>): T {
  for (const [field, jsonPath] of Object.entries(origins)) noteOrigin(target, field, jsonPath);
  return target;
}
