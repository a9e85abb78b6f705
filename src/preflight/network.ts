// Start-up checks of addresses: a listen address that can be bound right now, and an ipc endpoint whose
// directory can hold the socket. `--check` binds and releases at once; nothing is kept open.
import net from 'node:net';
import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { Finding } from './finding.js';
import { parseSocketUrl } from '../savant/url.js';
import { probeUnixSocket } from '../savant/ipc.js';

/** Binds `ip:port` and closes it again; a finding when that fails, naming why. */
export async function listenFindings(
  ip: string,
  port: number,
  where: string,
  what: string,
): Promise<Finding[]> {
  const failure = await tryListen(ip, port);
  if (failure === undefined) return [];
  return [
    { severity: 'error', path: where, message: `${what} ${hostPort(ip, port)} cannot be bound: ${failure}` },
  ];
}

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(describeListenError(e)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function describeListenError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return 'the address is already in use by another process (is this gateway already running?)';
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

/**
 * A bound ZeroMQ endpoint: a tcp address must be free; an ipc socket's directory must exist (or be creatable)
 * and be writable.
 */
export async function socketFindings(
  url: string,
  role: 'reader' | 'writer',
  where: string,
): Promise<Finding[]> {
  const parsed = parseSocketUrl(url, role);
  if (!parsed.bind) return [];
  const tcp = /^tcp:\/\/(.+):(\d+)$/.exec(parsed.endpoint);
  if (tcp) {
    const host = tcp[1].replace(/^\[(.*)\]$/, '$1');
    return tcp[1] === '*'
      ? listenFindings('0.0.0.0', Number(tcp[2]), where, 'ZeroMQ endpoint')
      : listenFindings(host, Number(tcp[2]), where, 'ZeroMQ endpoint');
  }
  const socketPath = parsed.endpoint.slice('ipc://'.length);
  const problem = await writableDirectoryProblem(path.dirname(socketPath));
  if (problem) return [{ severity: 'error', path: where, message: `ipc socket ${socketPath}: ${problem}` }];
  // the same probe start-up makes before binding (src/savant/ipc.ts): a live peer means another process serves it
  const exists = await stat(socketPath).then(
    () => true,
    () => false,
  );
  if (exists && (await probeUnixSocket(socketPath)) === 'live')
    return [
      {
        severity: 'error',
        path: where,
        message: `ipc endpoint ${url} is in use: another process accepts connections on ${socketPath}`,
      },
    ];
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
