// Spool files replaced underneath a stopped client: a segment file that became a directory, a symlink or a
// FIFO, a finished list that became a directory or a symlink. The next start must neither hang, nor read or
// write through a link, nor refuse to start without naming the file: it reports the entry as damage, leaves
// it alone, and goes on storing and delivering.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  inspectSpool,
  Spool,
  spoolEvents,
  type SpooledEntry,
  type SpoolOptions,
} from '../../src/spool/index.js';
import { tempDir } from '../helpers/tmp.js';
import { smallMessage } from './harness.js';

const msg = smallMessage;
const seq1 = (dir: string, ext = 'seg') =>
  path.join(dir, 'messages', `${String(1).padStart(20, '0')}.${ext}`);

function options(dir: string): SpoolOptions {
  return { dir, maxBytes: 64 * 1024 * 1024, whenFull: 'drop_newest', sync: 'never', syncIntervalMs: 1000 };
}

/** A stopped spool holding m0..m2 as sequence numbers 1..3 in one segment. */
async function spoolOfThree(dir: string): Promise<void> {
  const s = Spool.open(options(dir), spoolEvents());
  for (let i = 0; i < 3; i++) await s.admit(msg(i));
  await s.close();
}

function openCollecting(dir: string) {
  const damaged: { file: string; reason: string }[] = [];
  const errors: string[] = [];
  const events = {
    ...spoolEvents(),
    damaged: (file: string, _o: number, _s: number, reason: string) => damaged.push({ file, reason }),
    writeFailed: (e: Error) => errors.push(e.message),
  };
  const spool = Spool.open(options(dir), events);
  const got: SpooledEntry[] = [];
  spool.start((e) => got.push(e), 100);
  const labels = () => got.map((e) => Buffer.from(e.message).toString());
  return { spool, got, labels, damaged, errors };
}

async function storesAndDelivers(c: ReturnType<typeof openCollecting>, expected: string[]): Promise<void> {
  const r = await c.spool.admit(msg(9));
  assert.deepEqual(c.errors, [], 'no write error');
  assert.equal(r.kind, 'stored');
  assert.deepEqual(c.labels(), expected);
  await c.spool.close();
}

test('a segment file replaced by a directory: reported by name, the client starts and stores', async (t) => {
  const dir = await tempDir(t);
  await spoolOfThree(dir);
  fs.rmSync(seq1(dir));
  fs.mkdirSync(seq1(dir));
  const c = openCollecting(dir);
  assert.equal(c.damaged.length, 1);
  assert.equal(c.damaged[0].file, seq1(dir));
  assert.match(c.damaged[0].reason, /not a regular file/);
  await storesAndDelivers(c, ['m9']);
  assert.ok(fs.statSync(seq1(dir)).isDirectory(), 'left alone');
});

test('a segment file replaced by a symlink: its target is neither read nor written', async (t) => {
  const dir = await tempDir(t);
  await spoolOfThree(dir);
  const target = path.join(dir, 'precious');
  fs.copyFileSync(seq1(dir), target); // intact records: following the link would deliver them
  const before = fs.readFileSync(target);
  fs.rmSync(seq1(dir));
  fs.symlinkSync(target, seq1(dir));
  const c = openCollecting(dir);
  assert.deepEqual(
    c.damaged.map((d) => d.file),
    [seq1(dir)],
  );
  await storesAndDelivers(c, ['m9']);
  assert.deepEqual(fs.readFileSync(target), before, 'the link target is unchanged');
});

test('a segment file replaced by a FIFO: the start does not hang on it', async (t) => {
  const dir = await tempDir(t);
  await spoolOfThree(dir);
  fs.rmSync(seq1(dir));
  execFileSync('mkfifo', [seq1(dir)]);
  const c = openCollecting(dir);
  assert.equal(c.damaged.length, 1);
  await storesAndDelivers(c, ['m9']);
  // the offline view must not hang on it either
  assert.equal(inspectSpool(dir).damagedRecords, 1);
});

test('a finished list replaced by a directory or a symlink: records sent again, nothing written through', async (t) => {
  for (const kind of ['directory', 'symlink'] as const) {
    const dir = await tempDir(t);
    await spoolOfThree(dir);
    const target = path.join(dir, 'precious');
    fs.writeFileSync(target, 'keep me');
    if (kind === 'directory') fs.mkdirSync(seq1(dir, 'ack'));
    else fs.symlinkSync(target, seq1(dir, 'ack'));
    const c = openCollecting(dir);
    assert.equal(c.damaged.length, 1, kind);
    assert.equal(c.damaged[0].file, seq1(dir, 'ack'), kind);
    for (const e of c.got.splice(0, 1)) c.spool.complete(e);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(c.labels(), ['m1', 'm2'], kind);
    await storesAndDelivers(c, ['m1', 'm2', 'm9']);
    assert.equal(fs.readFileSync(target, 'utf8'), 'keep me', `${kind}: nothing written through`);
  }
});

test('an instance.tmp symlink planted in the spool directory is not written through', async (t) => {
  const dir = await tempDir(t);
  const target = path.join(dir, 'precious');
  fs.writeFileSync(target, 'keep me');
  fs.symlinkSync(target, path.join(dir, 'instance.tmp'));
  const c = openCollecting(dir); // an empty spool: a new instance id is written
  await storesAndDelivers(c, ['m9']);
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
  assert.match(fs.readFileSync(path.join(dir, 'instance'), 'utf8'), /^[0-9a-f]{32}\n$/);
});
