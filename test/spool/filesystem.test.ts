// Issue test 5: a spool directory on a read-only or full file system. These are real file systems: a tmpfs
// mounted read-only, or with a size limit and filled up (needs root, as the tests run in CI; skipped with
// a message otherwise). At start the client refuses with a message naming the directory; at run time a disk
// that fills makes /health degraded, counts write errors, applies when_full (block) and never crashes, and
// the client recovers once delivering gives the space back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import {
  failingClient,
  health,
  layout,
  metricsText,
  numbered,
  openSource,
  sample,
  Sink,
  startClientProc,
  startServerProc,
  stop,
  until,
} from './harness.js';

/** Mounts a tmpfs of `sizeBytes` at a new directory; unmounted when the test ends. Undefined without root. */
async function tmpfs(t: TestContext, sizeBytes: number): Promise<string | undefined> {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-spool-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(mnt);
    t.skip(`cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
  t.after(() => {
    execFileSync('umount', ['-l', mnt]);
    fs.rmdirSync(mnt);
  });
  return mnt;
}

function remountReadOnly(mnt: string): void {
  execFileSync('mount', ['-o', 'remount,ro', mnt]);
}

/** Writes until the file system says ENOSPC. */
function fillUp(mnt: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
}

test('a spool directory on a read-only file system stops start-up with a message naming it', async (t) => {
  const mnt = await tmpfs(t, 4 * 1024 * 1024);
  if (!mnt) return;
  const spoolDir = path.join(mnt, 'spool');
  fs.mkdirSync(spoolDir);
  remountReadOnly(mnt);
  const l = await layout(await tempDir(t), { reader: 'router', spool: {}, spoolDir });
  const r = await failingClient(t, l);
  assert.notEqual(r.code, 0);
  assert.match(r.output, new RegExp(`spool directory ${spoolDir} cannot be used: .*read-only file system`));
  assert.doesNotMatch(r.output, /\n\s+at /, 'no stack trace');
});

test('a spool directory on a full file system stops start-up with a message naming it', async (t) => {
  const mnt = await tmpfs(t, 1024 * 1024);
  if (!mnt) return;
  fillUp(mnt);
  const spoolDir = path.join(mnt, 'spool');
  const l = await layout(await tempDir(t), { reader: 'router', spool: {}, spoolDir });
  const r = await failingClient(t, l);
  assert.notEqual(r.code, 0);
  assert.match(r.output, new RegExp(`spool directory ${spoolDir} cannot be used: .*no space left on device`));
});

test(
  'a disk that fills at run time: degraded health, write errors counted, no crash, recovery',
  { timeout: 240_000 },
  async (t) => {
    const mnt = await tmpfs(t, 3 * 1024 * 1024);
    if (!mnt) return;
    const dir = await tempDir(t);
    // max_bytes (default 1 GiB) is far beyond the file system: the disk, not the limit, runs out
    const l = await layout(dir, { reader: 'router', spool: {}, spoolDir: path.join(mnt, 'spool') });
    const sink = await Sink.open(t, l.sinkEndpoint);
    const client = await startClientProc(t, l);
    const source = await openSource(t, 'dealer', l.sourceEndpoint, { sendTimeoutMs: 5000 });
    const total = 100;
    const sends = [];
    for (let i = 0; i < total; i++) {
      const m = numbered('cam-a', i, 64 * 1024);
      sends.push(source.send(m.topic, m.message, m.data, false));
    }
    // the absent server degrades health first (delivery failing); wait for the spool's own reason
    const failing = await until(
      () => health(l.clientPort),
      (h) => h.status === 'degraded' && (h.reasons ?? []).some((r) => r.startsWith('spool writes failing')),
      'degraded health naming the spool',
    );
    assert.match(failing.reasons!.join(' '), /spool writes failing since .*no space left on device/i);
    const metrics = await metricsText(l.clientPort);
    assert.ok(sample(metrics, 'media_gateway_spool_write_errors_total') >= 1);
    assert.equal(client.child.exitCode, null, 'still running');

    // the server comes back: delivering frees the spool, writing works again, nothing was lost
    await startServerProc(t, l);
    await sink.waitFor(total);
    assert.deepEqual(
      sink.arrivals.map((a) => a.seq),
      Array.from({ length: total }, (_, i) => i),
    );
    await until(
      () => health(l.clientPort),
      (h) => h.status === 'healthy',
      'healthy again',
    );
    await Promise.all(sends);
    assert.equal(await stop(client), 0);
  },
);
