// A segment that fills up while an fdatasync of sync "always" still waits for a thread of libuv's pool: its
// descriptor is closed only once that sync has run. Closed under it, the sync failed with EBADF (or synced
// whatever file got the number next) and failed every waiter, and the spool's `durable` rejection ended the
// benchmark's client as an unhandled rejection.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SegmentLog } from '../../src/spool/segment-log.js';
import { tempDir } from '../helpers/tmp.js';

const enc = new TextEncoder();

function msg(size: number) {
  return {
    topic: enc.encode('cam'),
    message: enc.encode('m'),
    data: [Buffer.alloc(size, 7)],
    endOfStream: false,
  };
}

/** Whether this process has `file` open. */
function openedHere(file: string): boolean {
  return fs.readdirSync('/proc/self/fd').some((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // the descriptor readdir itself used, closed by now
    }
  });
}

/**
 * Occupies every thread of libuv's pool with an open() of a FIFO that has no writer yet; work queued after
 * it waits until release() lets the opens finish.
 */
async function blockThreadPool(dir: string): Promise<{ release: () => Promise<void> }> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const fifos = Array.from({ length: threads }, (_, i) => path.join(dir, `fifo${i}`));
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const opened = fifos.map((f) => fs.promises.open(f, 'r'));
  return {
    async release() {
      const writers: number[] = [];
      for (const f of fifos) {
        // a thread that has not started its open yet has no reader there: try again on the next turn
        for (;;) {
          try {
            writers.push(fs.openSync(f, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
            await new Promise((r) => setImmediate(r));
          }
        }
      }
      for (const h of await Promise.all(opened)) await h.close();
      for (const fd of writers) fs.closeSync(fd);
    },
  };
}

test('a segment filled while its sync waits for the thread pool: the sync succeeds, the file is closed after it', async (t) => {
  const dir = await tempDir(t);
  // "periodic": appends start no sync of their own, so the flush below is the one sync, on the first segment
  const log = SegmentLog.open(path.join(dir, 'messages'), 64 * 1024, 'periodic');
  t.after(() => log.close());
  const pool = await blockThreadPool(dir);
  log.append(msg(40 * 1024), 1, Date.now());
  const synced = log.flush(); // queued behind the blocked pool
  log.append(msg(40 * 1024), 2, Date.now()); // does not fit: the first segment is closed, a second started
  assert.equal(log.segments.length, 2);
  const first = log.segments[0].file;
  assert.ok(openedHere(first), 'the first segment stays open while its sync waits');
  await pool.release();
  await synced;
  assert.equal(log.syncCount, 1);
  assert.ok(!openedHere(first), 'and is closed once the sync ran');
  await log.flush(); // the second segment's
  assert.equal(log.syncCount, 2);
});
