// Measures the two embedded stores considered for the client spool (lmdb, classic-level) on the spool's
// own pattern: append (one writer, up to 64 appends outstanding, as the reader does), read everything back
// in key order and delete each record after it was "acknowledged", and a kill -9 in the middle of appending
// followed by a reopen. The figures are in docs/spool.md. classic-level is not a dependency of the gateway:
//   npm install --no-save classic-level@3 && node scripts/spool-store-trial.mjs [dir]
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';

const OUTSTANDING = 64;

const stores = {
  async 'lmdb fsync'(dir) {
    return lmdbStore(dir, {});
  },
  async 'lmdb nosync'(dir) {
    return lmdbStore(dir, { noSync: true });
  },
  async 'classic-level sync'(dir) {
    return levelStore(dir, true);
  },
  async 'classic-level nosync'(dir) {
    return levelStore(dir, false);
  },
};

async function lmdbStore(dir, opts) {
  const { open } = await import('lmdb');
  const db = open({ path: dir, encoding: 'binary', keyEncoding: 'uint32', ...opts });
  return {
    put: (k, v) => db.put(k, v),
    async *range() {
      for (const { key, value } of db.getRange({})) yield [key, value];
    },
    del: (k) => db.remove(k),
    close: () => db.close(),
    count: () => db.getKeysCount(),
  };
}

function beKey(k) {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(k));
  return b;
}

async function levelStore(dir, sync) {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return {
    put: (k, v) => db.put(beKey(k), v, { sync }),
    async *range() {
      for await (const [key, value] of db.iterator()) yield [Number(key.readBigUInt64BE()), value];
    },
    del: (k) => db.del(beKey(k), { sync: false }),
    close: () => db.close(),
    async count() {
      let n = 0;
      for await (const _ of db.keys()) n++;
      return n;
    },
  };
}

async function appendAll(store, count, size) {
  const value = Buffer.alloc(size, 7);
  const outstanding = [];
  const t0 = performance.now();
  for (let k = 1; k <= count; k++) {
    outstanding.push(store.put(k, value));
    if (outstanding.length >= OUTSTANDING) await outstanding.shift();
  }
  await Promise.all(outstanding);
  return (count / (performance.now() - t0)) * 1000;
}

async function replayAndDelete(store, count) {
  const t0 = performance.now();
  let n = 0;
  const deletes = [];
  for await (const [key] of store.range()) {
    n++;
    deletes.push(store.del(key));
    if (deletes.length >= OUTSTANDING) await deletes.shift();
  }
  await Promise.all(deletes);
  if (n !== count) throw new Error(`read ${n} of ${count}`);
  return (count / (performance.now() - t0)) * 1000;
}

async function crashChild(name, dir) {
  const store = await stores[name](dir);
  const value = Buffer.alloc(1024, 7);
  for (let k = 1; ; k++) {
    await store.put(k, value);
    if (k === 2000) process.send('ready');
  }
}

async function crashTrial(name, root) {
  const dir = path.join(root, `crash-${name.replace(/ /g, '-')}`);
  const child = fork(new URL(import.meta.url).pathname, ['--crash-child', name, dir]);
  await new Promise((resolve) => child.once('message', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const t0 = performance.now();
  const store = await stores[name](dir);
  const n = await store.count();
  const ms = performance.now() - t0;
  await store.close();
  return { survived: n, reopenMs: Math.round(ms) };
}

async function main() {
  const root = fs.mkdtempSync(path.join(process.argv[2] ?? os.tmpdir(), 'spool-trial-'));
  const cases = [
    [1024, 20000],
    [64 * 1024, 2000],
    [1024 * 1024, 200],
  ];
  try {
    for (const name of Object.keys(stores)) {
      for (const [size, count] of cases) {
        const dir = path.join(root, `${name.replace(/ /g, '-')}-${size}`);
        const store = await stores[name](dir);
        const append = await appendAll(store, count, size);
        const replay = await replayAndDelete(store, count);
        await store.close();
        console.log(
          `${name.padEnd(22)} ${String(size).padStart(8)} B  append ${append.toFixed(0).padStart(7)}/s  read+delete ${replay.toFixed(0).padStart(7)}/s`,
        );
      }
      const crash = await crashTrial(name, root);
      console.log(
        `${name.padEnd(22)} kill -9 after >= 2000 appends: ${crash.survived} records after reopen (${crash.reopenMs} ms)`,
      );
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--crash-child') await crashChild(process.argv[3], process.argv[4]);
else await main();
