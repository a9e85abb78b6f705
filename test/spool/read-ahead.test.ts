// Replaying small records reads the segment ahead in one go (ReadAhead in src/spool/segment-log.ts). What must
// hold: every record comes back whole and in order, records appended while a replay is under way are read
// too, and a drained tail segment that is truncated and written again from 0 never yields the delivered
// records the bytes read ahead still hold.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SegmentLog } from '../../src/spool/segment-log.js';
import { tempDir } from '../helpers/tmp.js';

const enc = new TextEncoder();

function msg(n: number, size = 1024) {
  const payload = Buffer.alloc(size, n % 251);
  payload.writeUInt32LE(n, 0);
  return { topic: enc.encode('cam'), message: enc.encode(`m${n}`), data: [payload], endOfStream: false };
}

/** Reads every record now available, finishing each; the numbers written in their payloads. */
function drain(log: SegmentLog): number[] {
  const got: number[] = [];
  for (let item = log.next(); item; item = log.next()) {
    assert.equal(item.kind, 'record', 'no damage');
    if (item.kind !== 'record') continue;
    got.push(Buffer.from(item.message.data[0]).readUInt32LE(0));
    log.finish(item.segment, item.message.seq);
  }
  return got;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function openLog(t: { after(fn: () => void): void }) {
  const log = SegmentLog.open(path.join(await tempDir(t as never), 'messages'), 64 * 1024 * 1024, 'never');
  t.after(() => log.close());
  return log;
}

test('a replay of many small records gives each back whole and in order, across read-ahead boundaries', async (t) => {
  const log = await openLog(t);
  // 1,000 bytes of payload plus framing: records straddle every 64 KiB read-ahead boundary somewhere
  for (let n = 0; n < 500; n++) log.append(msg(n, 1000 + (n % 7)), n + 1, Date.now());
  assert.deepEqual(drain(log), range(0, 500));
});

test('records appended while a replay is under way are read too', async (t) => {
  const log = await openLog(t);
  for (let n = 0; n < 10; n++) log.append(msg(n), n + 1, Date.now());
  const first = log.next();
  assert.equal(first?.kind, 'record');
  // read ahead now covers the ten records only; the next ones lie beyond it
  for (let n = 10; n < 20; n++) log.append(msg(n), n + 1, Date.now());
  if (first?.kind === 'record') log.finish(first.segment, first.message.seq);
  assert.deepEqual(drain(log), range(1, 20));
});

test('a drained tail written again from 0 yields the new records, not the delivered ones read ahead', async (t) => {
  const log = await openLog(t);
  for (let n = 0; n < 20; n++) log.append(msg(n), n + 1, Date.now());
  assert.deepEqual(drain(log), range(0, 20));
  // all delivered: the tail segment is truncated to 0 and the next records go where the old ones were
  for (let n = 100; n < 120; n++) log.append(msg(n), n - 79, Date.now());
  assert.deepEqual(drain(log), range(100, 120));
});
