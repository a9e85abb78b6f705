// The spool's memory bound (spool.memory_bytes) as behaviour: while a long burst is spooled and read back,
// the messages it holds in memory (out with the sender, or read back and waiting) never exceed the budget,
// nothing is lost and order is kept; read-back buffers are reused; group commit under sync "always" lets
// every waiter go after a bounded number of syncs however fast appends keep coming.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Spool, spoolEvents, type SpooledEntry, type SpoolOptions } from '../../src/spool/index.js';
import { SegmentLog } from '../../src/spool/segment-log.js';
import { tempDir } from '../helpers/tmp.js';

const enc = new TextEncoder();
const KiB = 1024;
const MiB = 1024 * KiB;

function options(dir: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir,
    maxBytes: 256 * MiB,
    whenFull: 'block',
    sync: 'never',
    syncIntervalMs: 1000,
    memoryBytes: 4 * MiB,
    ...over,
  };
}

function msg(n: number, size: number) {
  const payload = Buffer.alloc(size, n % 251);
  payload.writeUInt32LE(n, 0);
  return { topic: enc.encode('cam'), message: enc.encode(`m${n}`), data: [payload], endOfStream: false };
}

const numberOf = (e: SpooledEntry) => Buffer.from(e.data[0]).readUInt32LE(0);
const bytesOf = (entries: Iterable<SpooledEntry>) => [...entries].reduce((n, e) => n + e.bytes, 0);

/** A sender that holds what it gets until told to complete it; records the most it ever held. */
function holdingSender(spool: Spool) {
  const out = new Set<SpooledEntry>();
  const order: number[] = [];
  let mostBytes = 0;
  spool.start((e) => {
    out.add(e);
    order.push(numberOf(e));
    mostBytes = Math.max(mostBytes, bytesOf(out));
  }, 10_000);
  return {
    out,
    order,
    mostBytes: () => mostBytes,
    /** completes the oldest `n` held entries (as the lanes would, in read order) */
    complete(n: number) {
      for (const e of [...out].slice(0, n)) {
        out.delete(e);
        spool.complete(e);
      }
    },
  };
}

test('a burst of 64 MiB through a 4 MiB budget: at most 4 MiB held at any time, all delivered in order', async (t) => {
  const dir = await tempDir(t);
  const spool = Spool.open(options(dir), spoolEvents());
  t.after(() => spool.close());
  const sender = holdingSender(spool);
  const size = 256 * KiB;
  const total = 256; // 64 MiB
  for (let i = 0; i < total; i++) {
    const admitted = await spool.admit(msg(i, size));
    assert.equal(admitted.kind, 'stored');
    assert.ok(spool.memory().held + spool.memory().free <= 4 * MiB, `after message ${i}`);
    // the sender finishes something now and then, slower than the burst comes in
    if (i % 8 === 7) sender.complete(1);
  }
  assert.ok(sender.out.size < 16, `only what fits the budget is out (${sender.out.size} messages)`);
  while (sender.out.size > 0) {
    sender.complete(2);
    assert.ok(spool.memory().held + spool.memory().free <= 4 * MiB);
  }
  assert.deepEqual(
    sender.order,
    Array.from({ length: total }, (_, i) => i),
  );
  assert.ok(sender.mostBytes() <= 4 * MiB, `the sender held at most ${sender.mostBytes()} bytes`);
  assert.ok(spool.memory().peak <= 4 * MiB, `peak ${spool.memory().peak}`);
  assert.equal(spool.stats().messages, 0);
});

test('after a restart the backlog is read back within the budget into reused buffers', async (t) => {
  const dir = await tempDir(t);
  const size = 512 * KiB;
  const first = Spool.open(options(dir), spoolEvents());
  for (let i = 0; i < 40; i++) assert.equal((await first.admit(msg(i, size))).kind, 'stored');
  await first.close(); // nobody was sending: 20 MiB stay on disk

  const spool = Spool.open(options(dir), spoolEvents());
  t.after(() => spool.close());
  const sender = holdingSender(spool);
  assert.ok(sender.out.size > 0 && bytesOf(sender.out) <= 4 * MiB, `${sender.out.size} out`);
  const arenas = new Set<ArrayBufferLike>();
  while (sender.out.size > 0) {
    for (const e of sender.out) arenas.add(e.data[0].buffer);
    sender.complete(1);
    assert.ok(spool.memory().held + spool.memory().free <= 4 * MiB);
  }
  assert.deepEqual(
    sender.order,
    Array.from({ length: 40 }, (_, i) => i),
  );
  assert.ok(arenas.size <= 8, `40 messages read back into ${arenas.size} buffers`);
  assert.ok(spool.memory().peak <= 4 * MiB);
});

test('a message larger than the budget still goes out, alone', async (t) => {
  const dir = await tempDir(t);
  const spool = Spool.open(options(dir, { memoryBytes: 1 * MiB }), spoolEvents());
  t.after(() => spool.close());
  const sender = holdingSender(spool);
  for (let i = 0; i < 3; i++) await spool.admit(msg(i, 3 * MiB));
  assert.deepEqual(sender.order, [0], 'the first, alone');
  sender.complete(1);
  assert.deepEqual(sender.order, [0, 1]);
  sender.complete(1);
  sender.complete(1);
  assert.deepEqual(sender.order, [0, 1, 2]);
  assert.equal(sender.out.size, 0);
});

test('sync "always": a flush asked for among many waiters is done after at most two syncs while appends go on', async (t) => {
  const dir = await tempDir(t);
  const log = SegmentLog.open(path.join(dir, 'messages'), 64 * MiB, 'always');
  t.after(() => log.close());
  const m = msg(0, 16);
  let appended = 0;
  // a thousand appends in one turn: each asks for a sync, the first one starts it, the rest wait
  for (let i = 0; i < 1000; i++) log.append(m, ++appended, Date.now());
  let flushed = false;
  const syncsBefore = log.syncCount;
  const flushing = log.flush().then(() => (flushed = true));
  // appends keep coming, one per turn of the event loop, until the flush is done (bounded in count)
  while (!flushed && appended < 100_000) {
    log.append(m, ++appended, Date.now());
    await new Promise((resolve) => setImmediate(resolve));
  }
  await flushing;
  const syncs = log.syncCount - syncsBefore;
  assert.ok(syncs <= 2, `the flush waited for ${syncs} syncs (${appended} appends)`);
});
