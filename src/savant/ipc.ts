// Side effects of binding an ipc:// endpoint, as savant_core does them: the parent
// directory is created, and the socket file is chmod-ed after bind (0o777 unless configured) so that
// processes of other users (Savant adapters in other containers) can connect.
// Unlike savant_core, a path that a live process still serves is refused: libzmq's bind unlinks whatever
// file is at the path, which silently steals the endpoint from the process serving it.
import { GatewayError } from '../errors/index.js';
import { mkdir, stat, chmod } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import type { SocketUrl } from './url.js';

export const DEFAULT_IPC_PERMISSIONS = 0o777;

export type IpcErrorCode =
  'ipc_permissions' | 'ipc_path_invalid' | 'ipc_endpoint_in_use' | 'ipc_path_not_socket' | 'ipc_probe_failed';

export class IpcError extends GatewayError {
  declare readonly code: IpcErrorCode;
  constructor(code: IpcErrorCode, message: string) {
    super(code, message);
  }
}

/** How long connecting to an existing socket file may take before the probe gives up (a live peer answers at once). */
const PROBE_TIMEOUT_MS = 2000;

/** The filesystem path of an ipc:// endpoint, or undefined for other transports. */
export function ipcPath(endpoint: string): string | undefined {
  return endpoint.startsWith('ipc://') ? endpoint.slice('ipc://'.length) : undefined;
}

/**
 * The mode to chmod the socket file to after bind, or undefined when nothing is to be done.
 * Throws when permissions are configured for a connect URL (a config error in the original too).
 */
export function resolveIpcPermissions(url: SocketUrl, fixIpcPermissions?: number): number | undefined {
  if (fixIpcPermissions !== undefined) {
    if (!url.bind) throw new IpcError('ipc_permissions', 'IPC permissions can only be set for bind sockets.');
    if (!Number.isInteger(fixIpcPermissions) || fixIpcPermissions < 0 || fixIpcPermissions > 0o7777) {
      throw new IpcError(
        'ipc_permissions',
        `Invalid IPC permissions ${fixIpcPermissions} (expected 0..4095, e.g. 511 = 0o777)`,
      );
    }
  }
  if (!url.bind || ipcPath(url.endpoint) === undefined) return undefined;
  return fixIpcPermissions ?? DEFAULT_IPC_PERMISSIONS;
}

/**
 * Before bind: refuses an empty path, a directory, a file that is not a socket, and a socket that a live
 * process serves (probed by connecting to it); creates the parent directory recursively. A socket file
 * left by a dead process (connection refused) is reused: libzmq's bind replaces it.
 * `url` is what the operator configured, named in every error.
 */
export async function prepareIpcBind(endpoint: string, url = endpoint): Promise<void> {
  const existing = await prepareIpcDirectory(endpoint, url);
  const p = ipcPath(endpoint);
  if (!existing || p === undefined) return;
  if (!existing.isSocket()) {
    throw new IpcError(
      'ipc_path_not_socket',
      `ipc path ${p} exists and is not a socket; binding would delete it (${url})`,
    );
  }
  await refuseLiveSocket(p, url);
}

/** The path checks and the mkdir of prepareIpcBind; returns the stat of an existing file at the path. */
async function prepareIpcDirectory(endpoint: string, url = endpoint): Promise<Stats | undefined> {
  const p = ipcPath(endpoint);
  if (p === undefined) return undefined;
  if (p.length === 0) throw new IpcError('ipc_path_invalid', `Empty ipc path in ${url}`);
  const existing = await stat(p).catch(() => undefined);
  if (existing?.isDirectory())
    throw new IpcError('ipc_path_invalid', `ipc path ${p} is a directory (${url})`);
  await mkdir(path.dirname(p), { recursive: true });
  return existing;
}

/** Connects to the socket file: accepted means another process serves it; refused means it is stale. */
async function refuseLiveSocket(socketPath: string, url: string): Promise<void> {
  const outcome = await probeUnixSocket(socketPath);
  if (outcome === 'stale') return;
  if (outcome === 'live') {
    throw new IpcError(
      'ipc_endpoint_in_use',
      `ipc endpoint ${url} is in use: another process accepts connections on ${socketPath}; ` +
        'stop it or configure another path',
    );
  }
  throw new IpcError(
    'ipc_probe_failed',
    `cannot tell whether ipc endpoint ${url} is in use (connecting to ${socketPath}: ${outcome.error}); ` +
      'refusing to replace it',
  );
}

export type ProbeOutcome = 'live' | 'stale' | { error: string };

/** One real connection attempt to a unix socket path, closed at once; bounded by PROBE_TIMEOUT_MS. */
export function probeUnixSocket(socketPath: string): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const conn = createConnection({ path: socketPath });
    const finish = (outcome: ProbeOutcome) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ error: `no answer within ${PROBE_TIMEOUT_MS} ms` }),
      PROBE_TIMEOUT_MS,
    );
    conn.once('connect', () => finish('live'));
    conn.once('error', (err: NodeJS.ErrnoException) =>
      finish(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'stale' : { error: err.message }),
    );
  });
}

/** After bind: chmod the socket file; a missing file is an error (the bind did not create it). */
export async function applyIpcPermissions(endpoint: string, mode: number): Promise<void> {
  const p = ipcPath(endpoint);
  if (p === undefined) return;
  try {
    await chmod(p, mode);
  } catch (err) {
    throw new IpcError(
      'ipc_permissions',
      `Cannot set permissions ${mode.toString(8)} on ipc socket ${p}: ${(err as Error).message}`,
    );
  }
}
