// Restarts at the edges of the segment log's life: a spool that was fully delivered before a clean stop (its
// tail segment truncated and renamed after the next sequence number), and a kill -9 that left an empty
// segment file behind. In both cases the next client must go on storing and delivering new messages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Spool, spoolEvents, type SpooledEntry, type SpoolOptions } from '../../src/spool/index.js';
import { tempDir } from '../helpers/tmp.js';
import {
  layout,
  metricsText,
  numbered,
  openSource,
  sample,
  Sink,
  smallMessage,
  startClientProc,
  startServerProc,
  stop,
  until,
} from './harness.js';

const msg = smallMessage;

function options(dir: string): SpoolOptions {
  return { dir, maxBytes: 64 * 1024 * 1024, whenFull: 'drop_newest', sync: 'never', syncIntervalMs: 1000 };
}

function openCollecting(dir: string) {
  const errors: string[] = [];
  const events = { ...spoolEvents(), writeFailed: (e: Error) => errors.push(e.message) };
  const spool = Spool.open(options(dir), events);
  const got: SpooledEntry[] = [];
  spool.start((e) => got.push(e), 100);
  return { spool, got, errors };
}

test('a spool that was fully delivered before a clean stop stores new messages after the restart', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(dir);
  for (let i = 0; i < 3; i++) await a.spool.admit(msg(i));
  for (const e of a.got.splice(0)) a.spool.complete(e);
  await a.spool.close();

  const b = openCollecting(dir);
  const r = await b.spool.admit(msg(3));
  assert.deepEqual(b.errors, [], 'no write error');
  assert.equal(r.kind, 'stored');
  assert.equal(r.kind === 'stored' && r.seq, 4, 'numbering goes on');
  assert.deepEqual(
    b.got.map((e) => Buffer.from(e.message).toString()),
    ['m3'],
  );
  await b.spool.close();
});

test('an empty segment file left by a kill -9 at rotation does not stop the next start from storing', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(dir);
  for (let i = 0; i < 3; i++) await a.spool.admit(msg(i));
  await a.spool.close();
  // what a kill between creating the next segment file and writing its first record leaves behind
  fs.writeFileSync(path.join(dir, 'messages', `${String(4).padStart(20, '0')}.seg`), '');

  const b = openCollecting(dir);
  const r = await b.spool.admit(msg(3));
  assert.deepEqual(b.errors, [], 'no write error');
  assert.equal(r.kind === 'stored' && r.seq, 4);
  assert.deepEqual(
    b.got.map((e) => Buffer.from(e.message).toString()),
    ['m0', 'm1', 'm2', 'm3'],
  );
  await b.spool.close();
});

test('a kill between renaming a drained tail segment and truncating it: records sent again, new ones stored', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(dir);
  for (let i = 0; i < 3; i++) await a.spool.admit(msg(i));
  await a.spool.close();
  // recycleTail renames first: the delivered records survive under the next number, without a finished list
  const seg = (n: number) => path.join(dir, 'messages', `${String(n).padStart(20, '0')}.seg`);
  fs.renameSync(seg(1), seg(4));

  const b = openCollecting(dir);
  const r = await b.spool.admit(msg(3));
  assert.deepEqual(b.errors, [], 'no write error');
  assert.equal(r.kind === 'stored' && r.seq, 4);
  assert.deepEqual(
    b.got.map((e) => `${e.seq}:${Buffer.from(e.message).toString()}`),
    ['1:m0', '2:m1', '3:m2', '4:m3'],
    'at-least-once for the delivered ones (same identity, so our server drops them), then the new one',
  );
  await b.spool.close();
});

test(
  'client processes: drained, stopped, started again: the next messages still arrive',
  { timeout: 240_000 },
  async (t) => {
    const dir = await tempDir(t, 'mg-spool-restart-');
    const l = await layout(dir, { reader: 'router', spool: {}, transport: { mode: 'batch' } });
    const sink = await Sink.open(t, l.sinkEndpoint);
    const server = await startServerProc(t, l);
    t.after(() => stop(server));
    let client = await startClientProc(t, l);
    let source = await openSource(t, 'dealer', l.sourceEndpoint);
    for (let i = 0; i < 5; i++) {
      const m = numbered('cam', i);
      await source.send(m.topic, m.message, m.data, false);
    }
    await sink.waitFor(5, 20_000);
    await until(
      () => metricsText(l.clientPort),
      (m) => sample(m, 'media_gateway_spool_messages') === 0,
      'an empty spool',
    );
    assert.equal(await stop(client), 0);
    await source.close();

    client = await startClientProc(t, l);
    t.after(() => stop(client));
    source = await openSource(t, 'dealer', l.sourceEndpoint);
    for (let i = 5; i < 10; i++) {
      const m = numbered('cam', i);
      await source.send(m.topic, m.message, m.data, false);
    }
    await sink.waitFor(10, 20_000);
    assert.deepEqual(
      sink.arrivals.map((a) => a.seq),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const metrics = await metricsText(l.clientPort);
    assert.equal(sample(metrics, 'media_gateway_spool_write_errors_total'), 0, 'no write errors');
  },
);

test('a damaged sequence number in a stored record does not derail the numbering of new messages', async (t) => {
  for (const record of [0, 2]) {
    const dir = await tempDir(t);
    const a = openCollecting(dir);
    for (let i = 0; i < 3; i++) await a.spool.admit(msg(i));
    await a.spool.close();
    // a bit flipped in the high bytes of one record's sequence number (its checksum no longer matches)
    const file = path.join(dir, 'messages', `${String(1).padStart(20, '0')}.seg`);
    const bytes = fs.readFileSync(file);
    const recordLength = bytes.length / 3;
    bytes[record * recordLength + 12 + 6] ^= 0x40;
    fs.writeFileSync(file, bytes);

    const b = openCollecting(dir);
    const seqs: number[] = [];
    for (let i = 3; i < 6; i++) {
      const r = await b.spool.admit(msg(i));
      assert.equal(r.kind, 'stored');
      if (r.kind === 'stored') seqs.push(r.seq);
    }
    assert.ok(
      seqs.every((s, i) => Number.isSafeInteger(s) && s < 2 ** 32 && (i === 0 || s > seqs[i - 1])),
      `record ${record}: distinct, increasing, plausible numbers: ${seqs.join(',')}`,
    );
    assert.ok(seqs[0] > 3, `record ${record}: no number a damaged record may have carried (${seqs[0]})`);
    // deliver one of the new ones; after a restart the other two must still be there
    const first = b.got.find((e) => Buffer.from(e.message).toString() === 'm3')!;
    b.spool.complete(first);
    await b.spool.close();
    const c = openCollecting(dir);
    const pending = c.got
      .map((e) => Buffer.from(e.message).toString())
      .filter((l) => ['m3', 'm4', 'm5'].includes(l));
    assert.deepEqual(pending, ['m4', 'm5'], `record ${record}: nothing lost`);
    await c.spool.close();
  }
});

test('a finished list with a torn last entry: entries written after the restart still count', async (t) => {
  const dir = await tempDir(t);
  const a = openCollecting(dir);
  for (let i = 0; i < 4; i++) await a.spool.admit(msg(i));
  a.spool.complete(a.got[0]);
  await a.spool.close();
  // a power loss (or a short write on a full disk) left half an entry at the end of the list
  const ack = path.join(dir, 'messages', `${String(1).padStart(20, '0')}.ack`);
  assert.equal(fs.statSync(ack).size, 8);
  fs.appendFileSync(ack, Buffer.from([2, 0, 0, 0]));

  const b = openCollecting(dir);
  assert.deepEqual(
    b.got.map((e) => e.seq),
    [2, 3, 4],
  );
  b.spool.complete(b.got[0]);
  await b.spool.close();
  const c = openCollecting(dir);
  assert.deepEqual(
    c.got.map((e) => e.seq),
    [3, 4],
    'the record finished after the restart is not sent again',
  );
  await c.spool.close();
});
