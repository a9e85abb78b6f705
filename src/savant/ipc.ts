// Side effects of binding an ipc:// endpoint, as savant_core does them (savant-wire.md §1.4): the parent
// directory is created, and the socket file is chmod-ed after bind (0o777 unless configured) so that
// processes of other users (Savant adapters in other containers) can connect.
import { mkdir, stat, chmod } from 'node:fs/promises';
import path from 'node:path';
import type { SocketUrl } from './url.js';

export const DEFAULT_IPC_PERMISSIONS = 0o777;

export class IpcError extends Error {
  override name = 'IpcError';
}

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
    if (!url.bind) throw new IpcError('IPC permissions can only be set for bind sockets.');
    if (!Number.isInteger(fixIpcPermissions) || fixIpcPermissions < 0 || fixIpcPermissions > 0o7777) {
      throw new IpcError(`Invalid IPC permissions ${fixIpcPermissions} (expected 0..4095, e.g. 511 = 0o777)`);
    }
  }
  if (!url.bind || ipcPath(url.endpoint) === undefined) return undefined;
  return fixIpcPermissions ?? DEFAULT_IPC_PERMISSIONS;
}

/** Before bind: refuses an empty path or a directory, creates the parent directory recursively. */
export async function prepareIpcBind(endpoint: string): Promise<void> {
  const p = ipcPath(endpoint);
  if (p === undefined) return;
  if (p.length === 0) throw new IpcError(`Empty ipc path in ${endpoint}`);
  const existing = await stat(p).catch(() => undefined);
  if (existing?.isDirectory()) throw new IpcError(`ipc path ${p} is a directory (${endpoint})`);
  await mkdir(path.dirname(p), { recursive: true });
}

/** After bind: chmod the socket file; a missing file is an error (the bind did not create it). */
export async function applyIpcPermissions(endpoint: string, mode: number): Promise<void> {
  const p = ipcPath(endpoint);
  if (p === undefined) return;
  try {
    await chmod(p, mode);
  } catch (err) {
    throw new IpcError(
      `Cannot set permissions ${mode.toString(8)} on ipc socket ${p}: ${(err as Error).message}`,
    );
  }
}
