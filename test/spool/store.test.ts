// The spool store on a real directory: order across restarts, removal only after completion, damage
// detection (checksum, torn tail), when_full policies and the end-of-stream reserve, the lock.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  Spool,
  SpoolError,
  spoolEvents,
  type SpooledEntry,
  type SpoolOptions,
  type WhenFull,
} from '../../src/spool/index.js';
import { tempDir } from '../helpers/tmp.js';

const enc = new TextEncoder();
const MiB = 1024 * 1024;

function options(dir: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir,
    maxBytes: 64 * MiB,
    whenFull: 'block',
    sync: 'never',
    syncIntervalMs: 1000,
    memoryBytes: 32 * MiB,
    ...over,
  };
}

function msg(topic: string, n: number, size = 16, endOfStream = false) {
  const payload = Buffer.alloc(size, n % 251);
  payload.write(String(n));
  return { topic: enc.encode(topic), message: enc.encode(`m${n}`), data: [payload], endOfStream };
}

const label = (e: SpooledEntry) => `${Buffer.from(e.topic).toString()}:${Buffer.from(e.message).toString()}`;

/** Opens a spool whose consumer collects entries; `complete` false keeps them out (in flight). */
function openCollecting(opts: SpoolOptions, window = 1000) {
  const events = spoolEvents();
  const spool = Spool.open(opts, events);
  const got: SpooledEntry[] = [];
  spool.start((e) => got.push(e), window);
  return { spool, got, events };
}

test('messages come back in read order after a restart; completed ones do not', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(options(dir), 3);
  for (let i = 0; i < 10; i++) await a.spool.admit(msg(`t${i % 2}`, i));
  assert.equal(a.got.length, 3, 'only the window is handed out');
  a.spool.complete(a.got[0]);
  a.spool.complete(a.got[1]);
  const instance = a.spool.instanceId;
  await a.spool.close();

  const b = openCollecting(options(dir));
  assert.equal(b.spool.instanceId, instance, 'pending messages keep their identity');
  assert.deepEqual(
    b.got.map(label),
    [2, 3, 4, 5, 6, 7, 8, 9].map((i) => `t${i % 2}:m${i}`),
  );
  assert.deepEqual(
    b.got.map((e) => e.seq),
    [3, 4, 5, 6, 7, 8, 9, 10],
  );
  for (const e of b.got) b.spool.complete(e);
  const next = await b.spool.admit(msg('t0', 10));
  assert.equal(next.kind === 'stored' && next.seq, 11, 'sequence numbers go on');
  b.spool.complete(b.got.at(-1)!);
  await b.spool.close();

  const c = openCollecting(options(dir));
  assert.equal(c.got.length, 0);
  assert.notEqual(c.spool.instanceId, instance, 'an empty spool starts a new instance');
  await c.spool.close();
});

test('a record with a flipped byte is skipped and counted, the others are delivered', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(options(dir), 0);
  for (let i = 0; i < 5; i++) await a.spool.admit(msg('t', i, 1000));
  await a.spool.close();
  const seg = segmentFiles(dir)[0];
  const bytes = fs.readFileSync(seg);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff; // inside the third record's payload
  fs.writeFileSync(seg, bytes);

  const b = openCollecting(options(dir));
  assert.deepEqual(b.got.map(label), ['t:m0', 't:m1', 't:m3', 't:m4']);
  assert.equal(b.events.counts.corrupt, 1);
  await b.spool.close();
});

test('a torn last record (cut mid-write) is skipped and counted', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(options(dir), 0);
  for (let i = 0; i < 3; i++) await a.spool.admit(msg('t', i, 1000));
  await a.spool.close();
  const seg = segmentFiles(dir)[0];
  fs.truncateSync(seg, fs.statSync(seg).size - 500);

  const b = openCollecting(options(dir));
  assert.deepEqual(b.got.map(label), ['t:m0', 't:m1']);
  assert.equal(b.events.counts.corrupt, 1);
  // new messages still go through after the damage
  await b.spool.admit(msg('t', 9));
  assert.deepEqual(b.got.map(label).at(-1), 't:m9');
  await b.spool.close();
});

async function fill(whenFull: WhenFull, t: { after(fn: () => unknown): void }) {
  const dir = await tempDir(t);
  const s = openCollecting(options(dir, { maxBytes: 4 * MiB, whenFull }), 1);
  // An admission that has not finished after `patience` counts as blocked. Only when_full=block may
  // block, and there a blocked admission never finishes, so 300 ms is enough; the other modes must never
  // block, and a loaded machine can take longer than 300 ms to write 512 KiB, so they get 30 s.
  const patience = whenFull === 'block' ? 300 : 30_000;
  const results = [];
  for (let i = 0; i < 12; i++) {
    const r = s.spool.admit(msg('t', i, 512 * 1024));
    let timer: NodeJS.Timeout | undefined;
    const blocked = new Promise((res) => (timer = setTimeout(() => res('blocked'), patience)));
    results.push(await Promise.race([r, blocked]));
    clearTimeout(timer);
  }
  return { ...s, results };
}

test('when_full drop_newest refuses new messages and counts them', async (t) => {
  const { spool, results, events } = await fill('drop_newest', t);
  const refused = results.filter((r) => (r as { kind: string }).kind === 'dropped').length;
  assert.ok(refused > 0);
  assert.match(spool.notReady().join(), /^spool full \(\d+ of 4194304 bytes, when_full=drop_newest\)$/);
  assert.equal(events.counts.refused_full, refused);
  assert.ok(spool.bytes() <= 4 * MiB);
  await spool.close();
});

test('when_full drop_oldest evicts the oldest messages not handed out and stores the new ones', async (t) => {
  const { spool, results, events, got } = await fill('drop_oldest', t);
  assert.ok(results.every((r) => (r as { kind: string }).kind === 'stored'));
  assert.ok(events.counts.evicted_oldest > 0);
  assert.equal(label(got[0]), 't:m0', 'the message in flight is kept');
  assert.ok(spool.bytes() <= 4 * MiB);
  await spool.close();
});

test('when_full block holds the writer until the sender completes something', async (t) => {
  const { spool, results, got } = await fill('block', t);
  assert.ok(results.includes('blocked'));
  // completing the entry in flight lets the spool free segments and feed the next one
  spool.complete(got[0]);
  await spool.close();
});

test('end-of-stream messages use the reserve and are stored when regular messages are refused', async (t) => {
  const { spool, results } = await fill('drop_newest', t);
  assert.ok(results.some((r) => (r as { kind: string }).kind === 'dropped'));
  for (let i = 0; i < 20; i++) {
    const r = await spool.admit(msg('t', 100 + i, 64, true));
    assert.equal(r.kind, 'stored');
  }
  await spool.close();
});

test('a message that can never be stored (too large, too many frames) is dropped as too_large', async (t) => {
  const dir = await tempDir(t);
  const s = openCollecting(options(dir, { maxBytes: 4 * MiB }));
  assert.deepEqual(await s.spool.admit(msg('t', 1, 5 * MiB)), { kind: 'dropped', reason: 'too_large' });
  const frames = { ...msg('t', 2), data: Array.from({ length: 300 }, () => enc.encode('x')) };
  assert.deepEqual(await s.spool.admit(frames), { kind: 'dropped', reason: 'too_large' });
  assert.equal(s.events.counts.too_large, 2);
  assert.equal((await s.spool.admit(msg('t', 3))).kind, 'stored', 'the spool goes on');
  await s.spool.close();
});

test('a second client on the same directory is refused; a dead owner’s lock is taken over', async (t) => {
  const dir = await tempDir(t);
  const a = Spool.open(options(dir), spoolEvents());
  assert.throws(
    () => Spool.open(options(dir), spoolEvents()),
    (err: unknown) => err instanceof SpoolError && err.code === 'spool_locked',
  );
  await a.close();
  fs.writeFileSync(path.join(dir, 'lock'), '999999999\n');
  const b = Spool.open(options(dir), spoolEvents());
  await b.close();
});

test('a directory that cannot be created is a start-up error naming it', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  assert.throws(
    () => Spool.open(options(path.join(file, 'spool')), spoolEvents()),
    (err: unknown) =>
      err instanceof SpoolError &&
      err.code === 'spool_unusable' &&
      err.message.includes(path.join(file, 'spool')),
  );
});

function segmentFiles(dir: string): string[] {
  const d = path.join(dir, 'messages');
  return fs
    .readdirSync(d)
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => path.join(d, n));
}

test('a spool is ready again once a message is stored after it was full', async (t) => {
  const { spool, got } = await fill('block', t);
  assert.match(spool.notReady().join(), /spool full .*when_full=block/);
  // deliver what is handed out until the blocked admissions get in: room comes back a segment at a time
  const done = new Set<SpooledEntry>();
  // bounded by time, not by a count of 10 ms rounds: on a loaded machine the admissions take longer
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && spool.notReady().length > 0) {
    for (const e of got.filter((x) => !done.has(x))) {
      done.add(e);
      spool.complete(e);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(spool.notReady(), []);
  await spool.close();
});

test('with drop_oldest, eviction makes room: the spool stays ready', async (t) => {
  const { spool } = await fill('drop_oldest', t);
  assert.deepEqual(spool.notReady(), []);
  await spool.close();
});
