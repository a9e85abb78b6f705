// `media-gateway spool inspect/export` on spool contents an attacker shaped: control and bidirectional
// characters in topics and in the instance file must not reach the operator's terminal raw; export must not
// write through a symlink planted in the output directory (say /tmp/x), and a sequence number that occurs
// twice (a segment file copied) must not stop the export halfway.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Spool, spoolEvents } from '../../src/spool/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const enc = new TextEncoder();

async function spoolWith(dir: string, topic: string, n = 3): Promise<void> {
  const s = Spool.open(
    { dir, maxBytes: 4 * 1024 * 1024, whenFull: 'block', sync: 'never', syncIntervalMs: 1000 },
    spoolEvents(),
  );
  for (let i = 0; i < n; i++)
    await s.admit({ topic: enc.encode(topic), message: enc.encode(`m${i}`), data: [], endOfStream: false });
  await s.close();
}

// C0/C1 controls, DEL, bidi overrides and isolates, zero-width characters: what the output must not hold
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

test('inspect prints hostile topics and instance ids escaped', async (t) => {
  const dir = await tempDir(t);
  const spool = path.join(dir, 'spool');
  await spoolWith(spool, 'cam\u001b[2J\u202eevil');
  fs.writeFileSync(path.join(spool, 'instance'), '\u001b]0;pwned\u0007\u001b[31mEVIL\n');
  const r = await runCli(['spool', 'inspect', spool]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, RAW_CONTROL);
  assert.match(r.stdout, /\\u001b\[2J\\u202eevil/, 'the topic is still there, escaped');
});

test('export does not write through a symlink planted in the output directory', async (t) => {
  const dir = await tempDir(t);
  const spool = path.join(dir, 'spool');
  await spoolWith(spool, 'cam');
  fs.appendFileSync(path.join(spool, 'messages', `${'1'.padStart(20, '0')}.seg`), 'garbage');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const precious = path.join(dir, 'precious');
  fs.writeFileSync(precious, 'keep');
  fs.symlinkSync(precious, path.join(out, 'damaged.json'));
  const r = await runCli(['spool', 'export', spool, out]);
  assert.equal(fs.readFileSync(precious, 'utf8'), 'keep', 'the link target is untouched');
  assert.notEqual(r.code, 0, 'refused, saying why');
  assert.match(r.stderr, /damaged\.json/);
});

test('export of a spool where a sequence number occurs twice writes both copies', async (t) => {
  const dir = await tempDir(t);
  const spool = path.join(dir, 'spool');
  await spoolWith(spool, 'cam');
  const seg = (n: number) => path.join(spool, 'messages', `${String(n).padStart(20, '0')}.seg`);
  fs.copyFileSync(seg(1), seg(2));
  const out = path.join(dir, 'out');
  const r = await runCli(['spool', 'export', spool, out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readdirSync(out).filter((n) => n.endsWith('.media')).length, 6);
});

test('inspect survives a record whose read time is damaged (summaries are read without the checksum)', async (t) => {
  const dir = await tempDir(t);
  const spool = path.join(dir, 'spool');
  await spoolWith(spool, 'cam');
  const seg = path.join(spool, 'messages', `${'1'.padStart(20, '0')}.seg`);
  const bytes = fs.readFileSync(seg);
  bytes.writeDoubleLE(Number.NaN, 12 + 8); // the first record's time: header (12), sequence number (8)
  fs.writeFileSync(seg, bytes);
  const r = await runCli(['spool', 'inspect', spool, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { messages: number; topics: { oldest: string; newest: string }[] };
  assert.equal(report.messages, 3);
  assert.match(report.topics[0].oldest, /^\d{4}-\d\d-\d\dT/, 'from the records whose time is readable');
});
