// The spool's one-client-per-directory lock against the states a crash, a reboot or a hostile directory
// leave: a lock naming a pid that a different process has since been given (pids are reused, across a reboot
// almost always), a lock that is a symlink to someone else's file, a lock file that is empty because its
// writer was killed between creating and writing it. A live owner is still refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Spool, SpoolError, spoolEvents, type SpoolOptions } from '../../src/spool/index.js';
import { tempDir } from '../helpers/tmp.js';
import { smallMessage } from './harness.js';

function options(dir: string): SpoolOptions {
  return { dir, maxBytes: 64 * 1024 * 1024, whenFull: 'block', sync: 'never', syncIntervalMs: 1000 };
}

/** A live process that is not a spool client (what a pid in a stale lock may belong to after a reboot). */
async function unrelatedProcess(t: { after(fn: () => unknown): void }): Promise<number> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.once('spawn', resolve));
  return child.pid!;
}

test('a lock left by a client whose pid now belongs to another process is taken over', async (t) => {
  const dir = await tempDir(t);
  const a = Spool.open(options(dir), spoolEvents());
  const written = fs.readFileSync(path.join(dir, 'lock'), 'utf8');
  await a.close();
  // the same lock, as if the client had died and the kernel had given its pid to an unrelated process
  const [, ...rest] = written.trim().split(' ');
  assert.ok(rest.length > 0, `the lock says more than the pid (${JSON.stringify(written)})`);
  const pid = await unrelatedProcess(t);
  fs.writeFileSync(path.join(dir, 'lock'), `${[pid, ...rest].join(' ')}\n`);
  const b = Spool.open(options(dir), spoolEvents());
  await b.close();
});

test('a live owner is still refused, by pid and what else the lock says', async (t) => {
  const dir = await tempDir(t);
  const a = Spool.open(options(dir), spoolEvents());
  t.after(() => a.close());
  // another process reads the same lock: simulate it by checking from a child process
  const { execFileSync } = await import('node:child_process');
  const script = `import('${path.resolve('src/spool/index.ts')}').then(({Spool,spoolEvents})=>{try{Spool.open(${JSON.stringify(
    options(dir),
  )},spoolEvents());console.log('opened')}catch(e){console.log(e.code)}})`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
  assert.match(out, /spool_locked/);
});

test('a lock that is a symlink: the link target is not written, the lock is taken over', async (t) => {
  const dir = await tempDir(t);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, 'precious');
  fs.writeFileSync(target, 'not a pid\n');
  fs.symlinkSync(target, path.join(dir, 'lock'));
  const a = Spool.open(options(dir), spoolEvents());
  assert.equal(fs.readFileSync(target, 'utf8'), 'not a pid\n', 'nothing written through the link');
  assert.ok(fs.lstatSync(path.join(dir, 'lock')).isFile(), 'the lock is a file of ours now');
  await a.close();
});

test('an empty lock (its writer killed between creating and writing it) is taken over', async (t) => {
  const dir = await tempDir(t);
  fs.writeFileSync(path.join(dir, 'lock'), '');
  const a = Spool.open(options(dir), spoolEvents());
  await a.close();
  assert.throws(
    () => {
      const b = Spool.open(options(dir), spoolEvents());
      const c = Spool.open(options(dir), spoolEvents());
      void b.close();
      void c.close();
    },
    (err: unknown) => err instanceof SpoolError && err.code === 'spool_locked',
  );
});

test('after a reboot without a clean stop, new messages are numbered far past anything stored', async (t) => {
  const dir = await tempDir(t);
  const msg = smallMessage;
  const a = Spool.open(options(dir), spoolEvents());
  for (let i = 0; i < 3; i++) await a.admit(msg(i));
  const lock = fs.readFileSync(path.join(dir, 'lock'), 'utf8').trim().split(' ');
  await a.close();
  // What a power loss leaves: the lock of the previous boot. Records handed to the sender in the last
  // sync interval (and forwarded by the server under this instance id) may be gone from the disk, so their
  // numbers must not be given to new messages: our server would drop those as duplicates.
  assert.equal(lock.length, 3, 'pid, boot id, start time');
  fs.writeFileSync(path.join(dir, 'lock'), `999999999 ${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)} 1\n`);
  const b = Spool.open(options(dir), spoolEvents());
  const r = await b.admit(msg(3));
  assert.equal(r.kind, 'stored');
  assert.ok(
    r.kind === 'stored' && r.seq > 3 + 2 ** 20,
    `numbered past a gap: ${r.kind === 'stored' && r.seq}`,
  );
  await b.close();

  // a kill -9 on the same boot keeps the page cache: no gap
  const c = Spool.open(options(dir), spoolEvents());
  const before = await c.admit(msg(4));
  const own = fs.readFileSync(path.join(dir, 'lock'), 'utf8');
  await c.close();
  fs.writeFileSync(path.join(dir, 'lock'), own.replace(/^\d+/, '999999999'));
  const d = Spool.open(options(dir), spoolEvents());
  const after = await d.admit(msg(5));
  assert.equal(after.kind === 'stored' && after.seq, before.kind === 'stored' && before.seq + 1);
  await d.close();
});
