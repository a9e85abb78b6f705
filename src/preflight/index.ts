// Start-up checks shared by `--check` and by start-up itself (src/cli/run-half.ts), so that `--check` says OK
// exactly when a start would get past them: the files a configuration names hold what they should, the
// certificates are valid, the trust directory can accept someone, and (with `bind`) the addresses are free.
// Public surface: preflightServer, preflightClient, Finding.
import { originOf } from '../config/fields.js';
import type { ClientConfig, ClientTlsConfig, ServerConfig } from '../config/types.js';
import { identityFindings, rootFindings } from './certificates.js';
import type { Finding } from './finding.js';
import { listenFindings, socketFindings, writableDirectoryProblem } from './network.js';
import { trustFindings } from './trust.js';

export type { Finding } from './finding.js';

export interface PreflightOptions {
  /** also bind and release every listen address (`--check`; start-up binds them itself) */
  bind: boolean;
  now?: Date;
}

export async function preflightServer(cfg: ServerConfig, opts: PreflightOptions): Promise<Finding[]> {
  const now = opts.now ?? new Date();
  const out: Finding[] = [];
  if (cfg.tls) {
    out.push(
      ...(await identityFindings(
        { certificate: cfg.tls.certificate, key: cfg.tls.key },
        {
          certificate: originOf(cfg.tls, 'certificate') ?? '$.tls.identity.certificate',
          key: originOf(cfg.tls, 'key') ?? '$.tls.identity.key',
        },
        'server certificate',
        now,
      )),
    );
    const ca = cfg.tls.clientAuth;
    if (ca) out.push(...(await trustFindings(ca, originOf(ca, 'directory') ?? '$.tls.peers', now)));
  }
  const etcdTls = cfg.auth?.basic?.etcd.tls;
  if (etcdTls) out.push(...(await clientTlsFindings(etcdTls, '$.auth.basic.etcd.tls', 'etcd ', now)));
  if (opts.bind) {
    out.push(...(await listenFindings(cfg.ip, cfg.port, '$.port', 'listen address')));
    if (cfg.ops)
      out.push(...(await listenFindings(cfg.ops.ip, cfg.ops.port, opsPath(cfg), 'operations address')));
    out.push(...(await socketFindings(cfg.outStream.url, 'writer', '$.out_stream.url')));
  }
  return out;
}

export async function preflightClient(cfg: ClientConfig, opts: PreflightOptions): Promise<Finding[]> {
  const now = opts.now ?? new Date();
  const out: Finding[] = [];
  if (cfg.tls) out.push(...(await clientTlsFindings(cfg.tls, '$.tls', '', now)));
  const deadLetter = await writableDirectoryProblem(cfg.deadLetterDir);
  if (deadLetter)
    out.push({
      severity: 'error',
      path: '$.dead_letter_dir',
      message: `dead-letter directory: ${deadLetter}`,
    });
  if (opts.bind) {
    out.push(...(await listenFindings(cfg.ip, cfg.port, '$.port', 'health listen address')));
    if (cfg.ops)
      out.push(...(await listenFindings(cfg.ops.ip, cfg.ops.port, opsPath(cfg), 'operations address')));
    out.push(...(await socketFindings(cfg.inStream.url, 'reader', '$.in_stream.url')));
  }
  return out;
}

async function clientTlsFindings(
  tls: ClientTlsConfig,
  base: string,
  prefix: string,
  now: Date,
): Promise<Finding[]> {
  const out: Finding[] = [];
  if (tls.rootCertificate)
    out.push(
      ...(await rootFindings(
        tls.rootCertificate,
        originOf(tls, 'rootCertificate') ?? `${base}.root_certificate`,
        `${prefix}root certificate`,
        now,
      )),
    );
  if (tls.identity)
    out.push(
      ...(await identityFindings(
        tls.identity,
        {
          certificate: originOf(tls.identity, 'certificate') ?? `${base}.identity.certificate`,
          key: originOf(tls.identity, 'key') ?? `${base}.identity.key`,
        },
        `${prefix}client certificate`,
        now,
      )),
    );
  return out;
}

/** Where the operations address was written: `ops` or its older spelling `metrics`. */
function opsPath(cfg: ServerConfig | ClientConfig): string {
  return originOf(cfg.ops!, 'port') ?? '$.ops.port';
}
