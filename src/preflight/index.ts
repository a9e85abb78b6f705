// Start-up checks shared by `--check` and by start-up itself (src/cli/run-half.ts), so that `--check` says OK
// exactly when a start would get past them: the files a configuration names hold what they should, the
// certificates are valid, the trust directory can accept someone, and (with `bind`) the addresses are free.
// Public surface: preflightServer, preflightClient, Finding.
import { originOf, type ClientConfig, type ClientTlsConfig, type ServerConfig } from '../config/index.js';
import { identityFindings, rootFindings } from './certificates.js';
import type { Finding } from './finding.js';
import {
  ipcFindings,
  listenFindings,
  writableDirectoryProblem,
  zmqListenTarget,
  type ListenTarget,
} from './network.js';
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
  if (opts.bind)
    out.push(
      ...(await addressFindings(cfg, 'listen address', cfg.outStream.url, 'writer', '$.out_stream.url')),
    );
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
  if (opts.bind)
    out.push(
      ...(await addressFindings(cfg, 'health listen address', cfg.inStream.url, 'reader', '$.in_stream.url')),
    );
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

/** The half's listen addresses bound together, then its ZeroMQ ipc endpoint checked as start-up checks it. */
async function addressFindings(
  cfg: ServerConfig | ClientConfig,
  main: string,
  zmqUrl: string,
  role: 'reader' | 'writer',
  zmqPath: string,
): Promise<Finding[]> {
  const targets: ListenTarget[] = [{ host: cfg.ip, port: cfg.port, path: '$.port', what: main }];
  if (cfg.ops)
    targets.push({ host: cfg.ops.ip, port: cfg.ops.port, path: opsPath(cfg), what: 'operations address' });
  const zmq = zmqListenTarget(zmqUrl, role, zmqPath);
  if (zmq) targets.push(zmq);
  return [...(await listenFindings(targets)), ...(await ipcFindings(zmqUrl, role, zmqPath))];
}

/** Where the operations address was written: `ops` or its older spelling `metrics`. */
function opsPath(cfg: ServerConfig | ClientConfig): string {
  return originOf(cfg.ops!, 'port') ?? '$.ops.port';
}
