// Start-up checks of addresses: every listen address of the configuration (HTTP, operations, a bound ZeroMQ
// tcp endpoint) bound at the same time, as start-up holds them, so two fields naming one address are caught
// too; and an ipc endpoint whose path can take the socket. Everything is released before the check returns.
import net from 'node:net';
import { access, lstat, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { Finding } from './finding.js';
import { parseSocketUrl } from '../savant/url.js';
import { probeUnixSocket } from '../savant/ipc.js';

export interface ListenTarget {
  host: string;
  port: number;
  /** JSON path of the field */
  path: string;
  what: string;
}

/** Binds every target, holding each while the next is bound, then releases them all. */
export async function listenFindings(targets: ListenTarget[]): Promise<Finding[]> {
  const held: net.Server[] = [];
  const out: Finding[] = [];
  try {
    for (const t of targets) {
      const server = net.createServer();
      const failure = await bind(server, t.host, t.port);
      if (failure === undefined) held.push(server);
      else
        out.push({
          severity: 'error',
          path: t.path,
          message: `${t.what} ${hostPort(t.host, t.port)} cannot be bound: ${failure}`,
        });
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  }
  return out;
}

function bind(server: net.Server, host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    server.once('error', (e: NodeJS.ErrnoException) => resolve(describeListenError(e)));
    server.listen({ host, port, exclusive: true }, () => resolve(undefined));
  });
}

function describeListenError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return 'the address is already in use (by another process, another field of this configuration, or this gateway already running)';
    case 'EADDRNOTAVAIL':
      return 'the IP address is not an address of this machine';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name cannot be resolved';
    default:
      return e.code ?? e.message;
  }
}

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The tcp address a bound ZeroMQ URL listens on, to be bound with the others; undefined otherwise. */
export function zmqListenTarget(
  url: string,
  role: 'reader' | 'writer',
  where: string,
): ListenTarget | undefined {
  const parsed = parseSocketUrl(url, role);
  const tcp = parsed.bind ? /^tcp:\/\/(.+):(\d+)$/.exec(parsed.endpoint) : null;
  if (!tcp) return undefined;
  const host = tcp[1] === '*' ? '0.0.0.0' : tcp[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(tcp[2]), path: where, what: 'ZeroMQ endpoint' };
}

/**
 * A bound ipc endpoint, checked as start-up does (src/savant/ipc.ts): its directory exists (or can be
 * created) and is writable, the path is not a directory or another kind of file, and no live process
 * accepts connections on it.
 */
export async function ipcFindings(url: string, role: 'reader' | 'writer', where: string): Promise<Finding[]> {
  const parsed = parseSocketUrl(url, role);
  if (!parsed.bind || !parsed.endpoint.startsWith('ipc://')) return [];
  const socketPath = parsed.endpoint.slice('ipc://'.length);
  const fail = (message: string): Finding[] => [{ severity: 'error', path: where, message }];
  const problem = await writableDirectoryProblem(path.dirname(socketPath));
  if (problem) return fail(`ipc socket ${socketPath}: ${problem}`);
  const info = await lstat(socketPath).catch(() => undefined);
  if (!info) return [];
  if (info.isDirectory()) return fail(`ipc path ${socketPath} is a directory`);
  if (!info.isSocket())
    return fail(`ipc path ${socketPath} exists and is not a socket (binding would replace it)`);
  if ((await probeUnixSocket(socketPath)) === 'live')
    return fail(`ipc endpoint ${url} is in use: another process accepts connections on ${socketPath}`);
  return [];
}

/**
 * Why `dir` cannot be used to create files in, or undefined: an existing directory must be writable; a
 * missing one must have a writable directory as its nearest existing ancestor (it will be created).
 */
export async function writableDirectoryProblem(dir: string): Promise<string | undefined> {
  let current = path.resolve(dir);
  for (;;) {
    const info = await stat(current).catch((e: NodeJS.ErrnoException) => e);
    if (!(info instanceof Error)) {
      if (!info.isDirectory())
        return current === path.resolve(dir)
          ? `${current} is not a directory`
          : `${current} is not a directory, so ${dir} cannot be created`;
      try {
        await access(current, constants.W_OK | constants.X_OK);
        return undefined;
      } catch {
        return `${current} is not writable`;
      }
    }
    if (info.code !== 'ENOENT') return `${current}: ${info.code ?? info.message}`;
    const parent = path.dirname(current);
    if (parent === current) return `${dir} cannot be created`;
    current = parent;
  }
}
