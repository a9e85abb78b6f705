// The `relay` mode's children (src/bench/relay-child.ts): their record framing cut at every possible chunk
// boundary, and relay-out as a real process: it refuses a peer without a client certificate and fails
// with its reason when it cannot start. A whole relay run through the CLI is in bench.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { makePki } from '../../src/pki/index.js';
import { encodeRecord, MAX_RECORD_BYTES, RecordDecoder } from '../../src/bench/relay-child.js';
import { startRelayProcess } from '../../src/bench/process.js';
import { freePort } from '../../src/util/index.js';
import { tempDir } from '../helpers/tmp.js';

function decodeAll(chunks: Buffer[]): Buffer[][] {
  const records: Buffer[][] = [];
  const d = new RecordDecoder((frames) => records.push(frames.map((f) => Buffer.from(f))));
  for (const c of chunks) d.push(c);
  return records;
}

const pattern = (n: number, seed: number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

test('records come back frame for frame however the byte stream is cut', () => {
  const messages = [
    [Buffer.from('bench-0'), pattern(90, 1), pattern(40_000, 2)],
    [Buffer.from('bench-1'), Buffer.alloc(0), pattern(20_000, 3), pattern(5, 4)],
    [Buffer.from('t'), pattern(3, 5)],
  ];
  const wire = Buffer.concat(messages.flatMap((m) => encodeRecord(m)));
  assert.deepEqual(decodeAll([wire]), messages, 'one chunk');
  // every split into two chunks, then a few three-way splits
  for (let cut = 1; cut < wire.length; cut += 97) {
    assert.deepEqual(decodeAll([wire.subarray(0, cut), wire.subarray(cut)]), messages, `cut at ${cut}`);
  }
  for (const [a, b] of [
    [1, 2],
    [3, 9],
    [12, 60_000],
    [40_100, 40_101],
  ]) {
    const parts = [wire.subarray(0, a), wire.subarray(a, b), wire.subarray(b)];
    assert.deepEqual(decodeAll(parts), messages, `cuts at ${a}, ${b}`);
  }
  // one byte at a time
  assert.deepEqual(
    decodeAll(Array.from({ length: 200 }, (_, i) => wire.subarray(i, i + 1)).concat(wire.subarray(200))),
    messages,
  );
});

test('large frames are written as they are, small ones joined with the record head', () => {
  const big = pattern(64 * 1024, 6);
  const out = encodeRecord([Buffer.from('bench-0'), pattern(90, 1), big]);
  assert.equal(out.length, 2, 'the head with topic and message, then the frame');
  assert.equal(out[1], big, 'the frame itself, not a copy');
  assert.equal(encodeRecord([Buffer.from('a'), pattern(100, 2)]).length, 1);
});

test('the decoder refuses a record head it must not trust', () => {
  const head = (count: number, ...lengths: number[]): Buffer => {
    const b = Buffer.alloc(4 + 4 * lengths.length);
    b.writeUInt32LE(count, 0);
    lengths.forEach((n, i) => b.writeUInt32LE(n, 4 + 4 * i));
    return b;
  };
  assert.throws(() => decodeAll([head(0)]), /record of 0 frames/);
  assert.throws(() => decodeAll([head(5000)]), /record of 5000 frames/);
  assert.throws(() => decodeAll([head(2, MAX_RECORD_BYTES, 1)]), /record of \d+ bytes/);
});

test('relay-out admits only peers with a client certificate of the bench CA', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  const port = await freePort();
  const relayOut = await startRelayProcess('relay-out', {
    sink: `ipc://${path.join(dir, 'sink.ipc')}`,
    port,
    hwm: 16,
    cert: pki.serverCert,
    key: pki.serverKey,
    ca: pki.caCert,
  });
  t.after(() => relayOut.stop());
  assert.match(relayOut.output(), /relay-out listening on 127\.0\.0\.1:\d+/);

  const ca = await readFile(pki.caCert);
  const anonymous = tls.connect({ host: '127.0.0.1', port, ca });
  // TLS 1.3: the handshake completes on the client's side before the server checks its certificate;
  // the server's refusal then arrives as an alert
  const [err] = (await once(anonymous, 'error')) as [Error & { code?: string }];
  assert.match(`${err.code} ${err.message}`, /CERTIFICATE_REQUIRED|certificate required|ECONNRESET/i);

  const [cert, key] = await Promise.all([readFile(pki.clientCert), readFile(pki.clientKey)]);
  const known = tls.connect({ host: '127.0.0.1', port, ca, cert, key });
  await once(known, 'secureConnect');
  assert.equal(known.authorized, true);
  known.destroy();
});

test('a relay child that cannot start fails with its reason', async (t) => {
  const dir = await tempDir(t);
  const pki = await makePki(path.join(dir, 'pki'));
  await assert.rejects(
    startRelayProcess('relay-out', {
      sink: `ipc://${path.join(dir, 'sink.ipc')}`,
      port: await freePort(),
      hwm: 16,
      cert: pki.serverCert,
      key: path.join(dir, 'missing.key'),
      ca: pki.caCert,
    }),
    /relay-out exited before it was ready \(code 1\):\n.*missing\.key/s,
  );
});
