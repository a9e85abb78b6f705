// Lowers the scheduling priority (raises the nice value) of every thread of this process except the
// main one, so that CPU work done off the event loop cannot starve it.
// Why: node-argon2 runs each verification on a libuv pool thread, which starts one more thread per lane
// (`parallelism`, 4 for our hashes): a single verification keeps every core of a 2-core machine busy,
// whatever the Argon2 budget (src/auth/verify-gate.ts) says. Under a guessing flood the event loop then
// got a fraction of a core, and a trust reload (about twenty I/O round trips plus TLS context building)
// took up to 3 s instead of 0.1 s. Linux keeps the nice value per thread and a new thread inherits its
// creator's, so the lane threads started by a lowered pool thread are lowered too; the main thread keeps
// its priority and, when it has work, gets a core before them. Only lowering is done: that needs no
// privilege. Linux only (`/proc/self/task`); elsewhere nothing happens.
import { readdirSync, readFileSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import os from 'node:os';

export interface ThreadPriorityResult {
  /** threads whose nice value was raised to the target */
  lowered: number;
  /** threads that were already at or above it */
  unchanged: number;
  /** threads that vanished or refused the change (counted, not fatal) */
  failed: number;
}

/** The nice value of one thread of this process, from /proc (field 19 of its stat line). */
export function threadNice(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // the command name (field 2) may contain spaces and parentheses: count fields after its last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[16]);
}

/** The id of the libuv pool thread that runs one file-system call (the pool is started by it if needed). */
export async function poolThreadId(): Promise<number> {
  // /proc/thread-self names the thread making the call, and fs/promises calls run on the pool
  const link = await readlink('/proc/thread-self');
  return Number(link.slice(link.lastIndexOf('/') + 1));
}

/**
 * Raises the nice value of every thread but the main one to `nice` (0 does nothing). Threads started
 * later by the main thread (e.g. ZeroMQ's I/O thread) keep the main thread's priority.
 */
export async function lowerHelperThreads(nice: number): Promise<ThreadPriorityResult> {
  const result: ThreadPriorityResult = { lowered: 0, unchanged: 0, failed: 0 };
  if (nice <= 0 || process.platform !== 'linux') return result;
  await poolThreadId(); // the pool exists (and so do all its threads) once it ran a call
  for (const entry of readdirSync('/proc/self/task')) {
    const tid = Number(entry);
    if (tid === process.pid) continue;
    try {
      if (threadNice(tid) >= nice) {
        result.unchanged++;
        continue;
      }
      os.setPriority(tid, nice);
      result.lowered++;
    } catch {
      result.failed++;
    }
  }
  return result;
}
