// Small pure parts of the client: retry delays, topic → lane hashing, the /batch reply, dead-letter files,
// the request body form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Backoff, sleep } from '../../src/client/retry.js';
import { fnv1a, laneOf } from '../../src/client/lanes.js';
import { formatBatchReply, parseBatchReply } from '../../src/contract/http.js';
import { JOIN_BODY_BYTES, requestBody, targetPaths } from '../../src/client/http.js';
import { Readable } from 'node:stream';
import { encodeMediaChunks, type Media } from '../../src/savant/media.js';
import { DeadLetterDir } from '../../src/client/dead-letter.js';
import { tempDir } from '../helpers/tmp.js';

test('backoff: initial, then ×multiplier, capped at the maximum; reset starts over', () => {
  const b = new Backoff({ initialDelayMs: 1, maximumDelayMs: 10, multiplier: 3 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [1, 3, 9, 10, 10]);
  assert.equal(b.attempts, 5);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 1);
});

test('backoff: an overflowing product falls back to the maximum', () => {
  const b = new Backoff({ initialDelayMs: 1e308, maximumDelayMs: Number.MAX_VALUE, multiplier: 10 });
  b.next();
  assert.equal(b.next(), Number.MAX_VALUE);
});

test('sleep ends early when aborted', async () => {
  const ctl = new AbortController();
  const started = Date.now();
  const p = sleep(60_000, ctl.signal);
  ctl.abort();
  await p;
  assert.ok(Date.now() - started < 1000);
});

test('fnv1a matches the published 32-bit FNV-1a vectors; lanes are stable and in range', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(fnv1a(enc('')), 0x811c9dc5);
  assert.equal(fnv1a(enc('a')), 0xe40c292c);
  assert.equal(fnv1a(enc('foobar')), 0xbf9cf968);
  for (const t of ['cam1', 'cam2', 'x']) {
    const lane = laneOf(enc(t), 4);
    assert.ok(lane >= 0 && lane < 4);
    assert.equal(laneOf(enc(t), 4), lane);
    assert.equal(laneOf(enc(t), 1), 0);
  }
});

test('batch reply: accepted prefix and the status of the first refused item', () => {
  assert.deepEqual(parseBatchReply('{"accepted":3,"status":200}', 3), { accepted: 3, status: 200 });
  assert.deepEqual(parseBatchReply('{"accepted":1,"status":503}', 3), { accepted: 1, status: 503 });
  // nonsense is refused, never taken as "all accepted"
  for (const bad of ['', 'not json', '[]', '{"accepted":4,"status":200}', '{"accepted":1,"status":200}']) {
    assert.equal(parseBatchReply(bad, 3), undefined, bad);
  }
  assert.equal(parseBatchReply('{"accepted":-1,"status":500}', 3), undefined);
  assert.equal(parseBatchReply('{"accepted":1.5,"status":500}', 3), undefined);
});

/** One message whose extra frame is `size` bytes of a repeating pattern, as read from ZeroMQ. */
function mediaOf(size: number): Media {
  const frame = Buffer.alloc(size);
  for (let i = 0; i < size; i++) frame[i] = i % 251;
  return { message: Buffer.from('savant message'), topic: Buffer.from('cam-1'), data: [frame] };
}

async function bytesOf(payload: Uint8Array | Readable): Promise<Buffer> {
  if (!(payload instanceof Readable)) return Buffer.from(payload);
  const parts: Buffer[] = [];
  for await (const c of payload) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('request body: several chunks up to JOIN_BODY_BYTES are joined into the same bytes, in order', async () => {
  const body = encodeMediaChunks([mediaOf(64 * 1024), mediaOf(64 * 1024)], true);
  assert.ok(body.chunks.length > 1, 'large frames are referenced, not copied, by the encoder');
  const payload = requestBody(body);
  assert.ok(!(payload instanceof Readable), 'joined into one buffer');
  assert.equal(payload.length, body.length);
  assert.deepEqual(await bytesOf(payload), Buffer.concat(body.chunks));
});

test('request body: a body over JOIN_BODY_BYTES is streamed chunk by chunk with the same bytes', async () => {
  const body = encodeMediaChunks([mediaOf(JOIN_BODY_BYTES)], false);
  assert.ok(body.length > JOIN_BODY_BYTES);
  const payload = requestBody(body);
  assert.ok(payload instanceof Readable, 'streamed');
  assert.deepEqual(await bytesOf(payload), Buffer.concat(body.chunks));
});

test('request body: a one-chunk body is passed as it is', () => {
  const body = encodeMediaChunks([mediaOf(100)], false);
  assert.equal(body.chunks.length, 1);
  assert.equal(requestBody(body), body.chunks[0]);
});

test('POST / keeps the configured path; /batch and /stream sit next to it', () => {
  assert.deepEqual(targetPaths(new URL('http://h:8080')), {
    single: '/',
    batch: '/batch',
    stream: '/stream',
  });
  assert.deepEqual(targetPaths(new URL('http://h:8080/gw/')), {
    single: '/gw/',
    batch: '/gw/batch',
    stream: '/gw/stream',
  });
  assert.deepEqual(targetPaths(new URL('http://h/gw?x=1')), {
    single: '/gw?x=1',
    batch: '/gw/batch?x=1',
    stream: '/gw/stream?x=1',
  });
});

test('dead-letter: .media holds the exact body, .json says topic, status and time; the dir is created', async (t) => {
  const dir = path.join(await tempDir(t), 'nested', 'dead');
  const dl = new DeadLetterDir(dir);
  const media = new Uint8Array([1, 2, 3]);
  const file = await dl.write({ media, topic: new TextEncoder().encode('cam1'), status: 413 });
  assert.match(path.basename(file), /^\d+-1-413\.media$/);
  assert.deepEqual(new Uint8Array(await readFile(file)), media);
  const side = JSON.parse(await readFile(file.replace(/\.media$/, '.json'), 'utf8'));
  assert.equal(side.topic, 'cam1');
  assert.equal(side.status, 413);
  assert.ok(!Number.isNaN(Date.parse(side.time)));
  // a topic that is not UTF-8 is kept exactly, in base64
  const file2 = await dl.write({ media, topic: new Uint8Array([0xff, 0xfe]), status: 400 });
  const side2 = JSON.parse(await readFile(file2.replace(/\.media$/, '.json'), 'utf8'));
  assert.equal(side2.topic, undefined);
  assert.equal(side2.topicBase64, '//4=');
  assert.equal((await readdir(dir)).length, 4, 'no temporary files left behind');
});

test('dead-letter: an unwritable directory is an error (the caller keeps the message)', async (t) => {
  const blocker = path.join(await tempDir(t), 'file');
  await writeFile(blocker, 'not a directory');
  const dl = new DeadLetterDir(path.join(blocker, 'dead'));
  await assert.rejects(dl.write({ media: new Uint8Array(1), topic: new Uint8Array(1), status: 400 }));
});

test('the batch reply the server formats is the one the client parses (src/contract/)', () => {
  assert.deepEqual(parseBatchReply(formatBatchReply({ accepted: 2, status: 502 }), 3), {
    accepted: 2,
    status: 502,
  });
  assert.deepEqual(parseBatchReply(formatBatchReply({ accepted: 3, status: 200 }), 3), {
    accepted: 3,
    status: 200,
  });
});
