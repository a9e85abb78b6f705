// `--check`: every file a configuration names must be usable before start-up, so a typo in a key path is
// reported as "this field, this file" rather than as a TLS failure later. Contacts neither etcd nor ZeroMQ.
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { ConfigError } from './errors.js';
import { originOf } from './fields.js';
import type { ClientConfig, ClientTlsConfig, ServerConfig } from './types.js';

interface Reference {
  kind: 'file' | 'directory';
  path: string;
  /** the JSON path the operator wrote, or the normalised field name as a fallback */
  field: string;
  what: string;
}

export async function checkReferencedFiles(cfg: ServerConfig | ClientConfig): Promise<void> {
  for (const ref of references(cfg)) await checkOne(ref, cfg.source);
}

function references(cfg: ServerConfig | ClientConfig): Reference[] {
  const refs: Reference[] = [];
  if ('outStream' in cfg) {
    if (cfg.tls) {
      refs.push(file(cfg.tls, 'certificate', '$.tls.identity.certificate', 'server certificate'));
      refs.push(file(cfg.tls, 'key', '$.tls.identity.key', 'server private key'));
      const ca = cfg.tls.clientAuth;
      if (ca) {
        refs.push({
          kind: 'directory',
          path: ca.directory,
          field: originOf(ca, 'directory') ?? '$.tls.peers.lookup_hash_directory',
          what: 'trusted CA hash directory',
        });
      }
    }
    const etcdTls = cfg.auth?.basic?.etcd.tls;
    if (etcdTls) refs.push(...clientTlsFiles(etcdTls, '$.auth.basic.etcd.tls', 'etcd '));
  } else if (cfg.tls) {
    refs.push(...clientTlsFiles(cfg.tls, '$.tls', ''));
  }
  return refs;
}

function clientTlsFiles(tls: ClientTlsConfig, base: string, prefix: string): Reference[] {
  const refs: Reference[] = [];
  if (tls.rootCertificate) {
    refs.push(file(tls, 'rootCertificate', `${base}.root_certificate`, `${prefix}root certificate`));
  }
  if (tls.identity) {
    refs.push(
      file(tls.identity, 'certificate', `${base}.identity.certificate`, `${prefix}client certificate`),
    );
    refs.push(file(tls.identity, 'key', `${base}.identity.key`, `${prefix}client private key`));
  }
  return refs;
}

function file<T extends object>(
  owner: T,
  field: keyof T & string,
  fallback: string,
  what: string,
): Reference {
  return {
    kind: 'file',
    path: owner[field] as string,
    field: originOf(owner, field) ?? fallback,
    what,
  };
}

async function checkOne(ref: Reference, source: string | undefined): Promise<void> {
  const fail = (reason: string): never => {
    throw new ConfigError({ file: source, path: ref.field }, `${ref.what} ${ref.path}: ${reason}`);
  };
  let info;
  try {
    info = await stat(ref.path);
  } catch (err) {
    return fail(describeErrno(err));
  }
  if (ref.kind === 'directory') {
    if (!info.isDirectory()) return fail('is not a directory');
    try {
      await access(ref.path, constants.R_OK | constants.X_OK);
    } catch (err) {
      return fail(describeErrno(err));
    }
    return;
  }
  if (!info.isFile()) return fail('is not a regular file');
  try {
    // opening proves readability for the user we run as (access() is not reliable under root or ACLs)
    const handle = await open(ref.path, 'r');
    await handle.close();
  } catch (err) {
    fail(describeErrno(err));
  }
}

function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent of it is not a directory';
    default:
      return String(code ?? err);
  }
}
