// The once-per-interval logger (src/util/repeat-log.ts) and the escaping of peer-chosen text
// (src/util/peer-text.ts). Intervals are driven by calling flush() directly, as the timer does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepeatLog } from '../../src/util/repeat-log.js';
import { peerText } from '../../src/util/peer-text.js';

function recorder(t: { after(fn: () => unknown): void }, maxKeys: number) {
  const events: string[] = [];
  const log = new RepeatLog<{ n: number }>({
    intervalMs: 3_600_000,
    maxKeys,
    first: (f) => events.push(`first ${f.n}`),
    repeated: (f, count) => events.push(`repeated ${f.n} x${count}`),
    overflowed: (count) => events.push(`overflow x${count}`),
  });
  t.after(() => log.close());
  return { log, events };
}

test('first occurrence at once, repeats summed per interval with the latest fields', (t) => {
  const { log, events } = recorder(t, 10);
  log.hit('a', { n: 1 });
  log.hit('a', { n: 2 });
  log.hit('a', { n: 3 });
  assert.deepEqual(events, ['first 1']);
  log.flush();
  assert.deepEqual(events, ['first 1', 'repeated 3 x2']);
  log.flush();
  assert.deepEqual(events, ['first 1', 'repeated 3 x2'], 'nothing new, nothing said');
});

test('a key quiet for a whole interval is forgotten: its next occurrence is reported in full', (t) => {
  const { log, events } = recorder(t, 10);
  log.hit('a', { n: 1 });
  log.flush(); // a was active in this interval: kept
  assert.equal(log.size, 1);
  log.flush(); // quiet for a whole interval: forgotten
  assert.equal(log.size, 0);
  log.hit('a', { n: 2 });
  assert.deepEqual(events, ['first 1', 'first 2']);
});

test('the table is bounded: further keys are only counted, in one overflow line per interval', (t) => {
  const { log, events } = recorder(t, 2);
  for (let i = 0; i < 1000; i++) log.hit(`k${i}`, { n: i });
  assert.equal(log.size, 2);
  assert.deepEqual(events, ['first 0', 'first 1']);
  log.flush();
  assert.deepEqual(events, ['first 0', 'first 1', 'overflow x998']);
});

test('close reports what was counted', (t) => {
  const { log, events } = recorder(t, 2);
  log.hit('a', { n: 1 });
  log.hit('a', { n: 1 });
  log.close();
  assert.deepEqual(events, ['first 1', 'repeated 1 x1']);
  assert.equal(log.size, 0);
});

test('peer text: control characters escaped (C0, DEL, C1, line separators), long values cut', () => {
  assert.equal(
    peerText('CN=a\u001b[2Jb\r\nc\u007f\u0085\u2028'),
    'CN=a\\u001b[2Jb\\r\\nc\\u007f\\u0085\\u2028',
  );
  assert.equal(peerText('plain CN=client-good, O=Test Org'), 'plain CN=client-good, O=Test Org');
  assert.equal(peerText('x'.repeat(300), 10), 'xxxxxxxxxx…');
});
