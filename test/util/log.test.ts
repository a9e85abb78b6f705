// Peer-supplied strings in logs: control characters (C0, DEL, C1, line separators, bidi controls) are
// escaped once, at format time, in the text layout and in LOG_FORMAT=json, wherever they are logged.
// Unit tests on the formatter with a real pino logger, and a real client process fed a hostile topic
// over ZeroMQ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as zmq from 'zeromq';
import { pino } from 'pino';
import { startCli } from '../helpers/cli.js';
import { clientJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { buildMessage } from '../../src/savant/message.js';
import { escapeControls, formatTextLine, jsonStream } from '../../src/util/log.js';

/** Clear screen, set the window title, a C1 CSI, DEL, a newline that would forge a line, a bidi override. */
const HOSTILE = '\x1b[2J\x1b]0;owned\x07cam\x9b31m\x7f\nfake=1\u202eevil\u2028';
/** Any character that must not reach a log raw (the trailing newline of each line aside). */
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Lines a pino logger writes through `wrap` into memory. */
function capture(wrap: (s: Writable) => pino.DestinationStream = (s) => s) {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: pino({ base: undefined }, wrap(sink)), out };
}

test('text layout: message, string, nested and key fields have no raw control character', () => {
  const { log, out } = capture();
  log.warn({ topic: HOSTILE, labels: [HOSTILE], peer: { subject: HOSTILE }, [HOSTILE]: 1 }, `msg ${HOSTILE}`);
  const line = formatTextLine(JSON.parse(out[0]) as Record<string, unknown>);
  assert.ok(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, 'one line');
  assert.doesNotMatch(line, RAW_CONTROL);
  assert.ok(
    line.includes('msg \\u001b[2J\\u001b]0;owned\\u0007cam\\u009b31m\\u007f\\nfake=1\\u202eevil\\u2028'),
  );
  // quoted because it is not one plain word, so "fake=1" cannot pass for a field of its own
  assert.ok(line.includes(' topic="\\u001b[2J'));
  assert.ok(line.includes('labels=["\\u001b[2J'));
  assert.ok(line.includes('peer={"subject":"\\u001b[2J'));
});

test('text layout: escaped once, plain words stay bare, whitespace still quotes', () => {
  assert.equal(escapeControls('a\x1bb'), 'a\\u001bb');
  assert.equal(
    escapeControls('already \\u001b text'),
    'already \\u001b text',
    'a backslash is not an escape target',
  );
  const line = formatTextLine({
    level: 30,
    time: 0,
    msg: 'm',
    target: 't',
    a: 'plain',
    b: 'two words',
    c: 'x\x1by',
  });
  assert.equal(line, '[1970-01-01T00:00:00Z INFO  t] m a=plain b="two words" c="x\\u001by"\n');
});

test('json layout: still valid JSON that decodes to the logged strings, with no raw control character', () => {
  const { log, out } = capture((s) => jsonStream(s));
  log.warn({ topic: HOSTILE, nested: { v: [HOSTILE] } }, HOSTILE);
  const [line] = out;
  assert.doesNotMatch(line.slice(0, -1), RAW_CONTROL);
  assert.ok(!line.includes('\\\\u'), 'no escape escaped twice');
  const rec = JSON.parse(line) as { topic: string; nested: { v: string[] }; msg: string };
  assert.equal(rec.topic, HOSTILE);
  assert.equal(rec.nested.v[0], HOSTILE);
  assert.equal(rec.msg, HOSTILE);
});

/** Starts a client whose router reader accepts only source "cam", sends it HOSTILE as a topic, returns its log. */
async function clientLogOfHostileTopic(t: Parameters<typeof startCli>[0], format: string): Promise<string> {
  const dir = await tempDir(t);
  const endpoint = `ipc://${path.join(dir, 'in.ipc')}`;
  const file = path.join(dir, 'client.json');
  await writeFile(
    file,
    clientJson(
      { port: await freePort(), url: `http://127.0.0.1:${await freePort()}` },
      { url: `router+bind:${endpoint}`, topic_prefix_spec: { source_id: 'cam' } },
    ),
  );
  const cli = startCli(t, ['client', file], { env: { LOG_LEVEL: 'info', LOG_FORMAT: format } });
  await cli.waitForOutput(/listening on/);
  const dealer = new zmq.Dealer({ linger: 0 });
  t.after(() => dealer.close());
  dealer.connect(endpoint);
  await dealer.send([Buffer.from(HOSTILE), buildMessage({ content: 'video_frame', sourceId: 'cam' })]);
  await cli.waitForOutput(/dropped a read result that is not a message[^\n]*\n/);
  return cli.output();
}

test('client text log: an ESC sequence in a topic is shown escaped, not executed', async (t) => {
  const log = await clientLogOfHostileTopic(t, '');
  const line = log.split('\n').find((l) => l.includes('dropped a read result'))!;
  assert.match(
    line,
    /topic="\\u001b\[2J\\u001b\]0;owned\\u0007cam\\u009b31m\\u007f\\nfake=1\\u202eevil\\u2028"/,
  );
  assert.doesNotMatch(log.replace(/\n/g, ''), RAW_CONTROL);
});

test('client JSON log: an ESC sequence in a topic is escaped and decodes to the topic', async (t) => {
  const log = await clientLogOfHostileTopic(t, 'json');
  assert.doesNotMatch(log.replace(/\n/g, ''), RAW_CONTROL);
  const line = log.split('\n').find((l) => l.includes('dropped a read result'))!;
  assert.equal((JSON.parse(line) as { topic: string }).topic, HOSTILE);
});

test('invisible and bidi characters (U+061C, zero-width, BOM) are escaped too (red-team finding)', () => {
  assert.equal(escapeControls('a\u061cb\u200bc\u2060d\ufeffe'), 'a\\u061cb\\u200bc\\u2060d\\ufeffe');
});
