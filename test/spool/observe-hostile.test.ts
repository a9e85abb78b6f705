// What the spool logs about peer-supplied topics stays bounded: a source can send a topic of any length
// (a ZeroMQ frame), and a dropped message's topic is written into a log line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spoolEvents } from '../../src/spool/index.js';
import { captureLog } from '../helpers/log-capture.js';

test('a drop with a 1 MiB topic writes a log line of bounded length', (t) => {
  const log = captureLog(t);
  const events = spoolEvents();
  events.dropped('too_large', new Uint8Array(1024 * 1024).fill(0x41));
  const lines = log.matching(/spool dropped messages/);
  assert.equal(lines.length, 1);
  assert.ok(lines[0].length < 2048, `log line of ${lines[0].length} characters`);
  assert.match(lines[0], /AAAA/, 'the start of the topic is still there');
});

test('the drop-log rate limit runs on the monotonic clock, not the wall clock (red-team finding)', (t) => {
  const log = captureLog(t);
  // the wall clock is the one a step (NTP, an operator) moves; a limiter on it went silent after a step back
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const events = spoolEvents();
  events.dropped('refused_full', Buffer.from('cam'));
  t.mock.timers.setTime(Date.now() - 3_600_000);
  events.dropped('refused_full', Buffer.from('cam'));
  t.mock.timers.setTime(Date.now() + 7_200_000);
  events.dropped('refused_full', Buffer.from('cam'));
  // within the same monotonic interval: one line, whatever the wall clock did in between
  assert.equal(log.matching(/spool dropped messages/).length, 1);
});
