// How many file descriptors this process may open, and the global connection limit that leaves the
// configured reserve free: a flood may fill the connection budget, but trust reloads, the ZeroMQ socket,
// etcd and logging still find descriptors (without the reserve a reload fails with EMFILE).
import { readFileSync } from 'node:fs';
import { LimitError } from './errors.js';

/**
 * The soft RLIMIT_NOFILE from /proc/self/limits (Node raises it to the hard limit at start-up);
 * undefined where that file does not exist or says "unlimited".
 */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The configured limit, lowered so that `reserve` descriptors stay free when every connection is open. */
export function effectiveConnectionLimit(
  configured: number,
  reserve: number,
  fileLimit = openFileLimit(),
): number {
  if (fileLimit === undefined) return configured;
  const room = fileLimit - reserve;
  if (room < 1) {
    throw new LimitError(
      'fd_reserve_too_large',
      `limits.fd_reserve (${reserve}) leaves no file descriptor for connections (open-file limit ${fileLimit}); raise ulimit -n or lower fd_reserve`,
    );
  }
  return Math.min(configured, room);
}
