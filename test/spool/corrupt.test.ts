// Issue test 4: the spool is damaged while the client is stopped (a flipped byte in one record, a torn
// record at the end of a segment); the client starts, reports the damage (log line, counter) and delivers
// every other message. `spool inspect` and `spool export` see the same spool.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import {
  layout,
  metricsText,
  numbered,
  openSource,
  sample,
  Sink,
  startClientProc,
  startServerProc,
  stop,
  until,
} from './harness.js';

const MESSAGES = 40;
const SIZE = 4096;

test(
  'a damaged spool: the client starts, reports the damage and delivers the rest',
  { timeout: 240_000 },
  async (t) => {
    const dir = await tempDir(t, 'mg-spool-corrupt-');
    const l = await layout(dir, { reader: 'router', spool: {} });
    const sink = await Sink.open(t, l.sinkEndpoint);
    // the server is away: everything stays in the spool
    const client = await startClientProc(t, l);
    const source = await openSource(t, 'dealer', l.sourceEndpoint);
    for (let i = 0; i < MESSAGES; i++) {
      const m = numbered('cam-a', i, SIZE);
      await source.send(m.topic, m.message, m.data, false);
    }
    await until(
      () => metricsText(l.clientPort),
      (m) => sample(m, 'media_gateway_spool_messages') === MESSAGES,
      'all spooled',
    );
    assert.equal(await stop(client), 0);

    const before = JSON.parse((await runCli(['spool', 'inspect', l.spoolDir, '--json'])).stdout);
    assert.equal(before.messages, MESSAGES);
    assert.equal(before.topics[0].topic, 'cam-a');

    const segDir = path.join(l.spoolDir, 'messages');
    const seg = path.join(
      segDir,
      fs
        .readdirSync(segDir)
        .filter((n) => n.endsWith('.seg'))
        .sort()[0],
    );
    const bytes = fs.readFileSync(seg);
    const recordBytes = bytes.length / MESSAGES;
    bytes[Math.floor(recordBytes * 10.5)] ^= 0x55; // inside record 10
    fs.writeFileSync(seg, bytes.subarray(0, bytes.length - 100)); // and the last record torn

    const inspect = await runCli(['spool', 'inspect', l.spoolDir]);
    assert.equal(inspect.code, 0);
    assert.match(inspect.stdout, /damaged records/);
    const out = path.join(dir, 'export');
    const exported = await runCli(['spool', 'export', l.spoolDir, out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /exported 38 messages .*2 damaged regions/);
    assert.equal(fs.readdirSync(out).filter((n) => n.endsWith('.media')).length, 38);

    await startServerProc(t, l);
    const restarted = await startClientProc(t, l);
    await sink.waitFor(MESSAGES - 2);
    await until(
      () => metricsText(l.clientPort),
      (m) => sample(m, 'media_gateway_spool_messages') === 0,
      'an empty spool',
    );
    const metrics = await metricsText(l.clientPort);
    assert.equal(sample(metrics, 'media_gateway_spool_corrupt_records_total'), 2);
    assert.match(restarted.output(), /damaged spool record skipped .*reason="checksum mismatch"/);
    assert.match(
      restarted.output(),
      /damaged spool record skipped .*reason="record cut short \(torn write\)"/,
    );
    const expected = Array.from({ length: MESSAGES }, (_, i) => i).filter(
      (i) => i !== 10 && i !== MESSAGES - 1,
    );
    assert.deepEqual(
      sink.arrivals.map((a) => a.seq),
      expected,
    );
    assert.equal(await stop(restarted), 0);
  },
);
