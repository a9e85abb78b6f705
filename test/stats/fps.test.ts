// FPS statistics lines: exact text of savant_core 0.3.5 for both periods, the kick-off
// rule, and the env_logger-shaped prefix produced by our logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { once, EventEmitter } from 'node:events';
import { pino } from 'pino';
import { FpsStatistics, formatStatsMessage, STATS_TARGET } from '../../src/stats/fps.js';
import { formatTextLine } from '../../src/util/log.js';

/** A logger like the process one (same text formatter), writing its lines into an array. */
function capture() {
  const lines: string[] = [];
  const events = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const raw of chunk.toString('utf8').split('\n')) {
        if (!raw) continue;
        const line = formatTextLine(JSON.parse(raw) as Record<string, unknown>).trimEnd();
        lines.push(line);
        events.emit('line', line);
      }
      cb();
    },
  });
  const log = pino({ base: undefined }, sink).child({ target: STATS_TARGET });
  return { log, lines, events };
}

const SAMPLE_TIME =
  '[2024-08-02T08:38:52Z INFO  savant_core::pipeline::stats] Time-based FPS counter triggered: FPS = 2536.46, OPS = 0.00, frame_delta = 2539, time_delta = 1.001 sec , period=[1722587931826, 1722587932827] ms';
const SAMPLE_FRAME =
  '[2024-08-02T08:37:56Z INFO  savant_core::pipeline::stats] Frame-based FPS counter triggered: FPS = 2386.63, OPS = 0.00, frame_delta = 1000, time_delta = 0.419 sec, period=[1722587875889, 1722587876308] ms';

const TIME_RE =
  /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO {2}savant_core::pipeline::stats\] Time-based FPS counter triggered: FPS = \d+\.\d\d, OPS = 0\.00, frame_delta = \d+, time_delta = [\d.]+ sec , period=\[\d+, \d+\] ms$/;
const FRAME_RE =
  /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO {2}savant_core::pipeline::stats\] Frame-based FPS counter triggered: FPS = \d+\.\d\d, OPS = 0\.00, frame_delta = \d+, time_delta = [\d.]+ sec, period=\[\d+, \d+\] ms$/;

test("savant_core's sample lines match the shape regexes and our formatter reproduces their messages", () => {
  assert.match(SAMPLE_TIME, TIME_RE);
  assert.match(SAMPLE_FRAME, FRAME_RE);
  const time = formatStatsMessage(
    'time',
    { ts: 1722587931826, frames: 0 },
    { ts: 1722587932827, frames: 2539 },
  );
  assert.equal(time, SAMPLE_TIME.slice(SAMPLE_TIME.indexOf('] ') + 2));
  const frame = formatStatsMessage(
    'frame',
    { ts: 1722587875889, frames: 0 },
    { ts: 1722587876308, frames: 1000 },
  );
  assert.equal(frame, SAMPLE_FRAME.slice(SAMPLE_FRAME.indexOf('] ') + 2));
  // an integral time delta prints without decimals, as Rust's f64 Display does
  assert.match(
    formatStatsMessage('frame', { ts: 0, frames: 0 }, { ts: 2000, frames: 10 }),
    /time_delta = 2 sec,/,
  );
});

test('frame-based: first line after N completions, measured from the kick-off, then every N', () => {
  const { log, lines } = capture();
  let now = 1_000_000;
  const stats = new FpsStatistics({ framePeriod: 3 }, { log, now: () => now });
  stats.start(); // a start alone does not kick off counting
  now += 50;
  stats.end(); // kick-off at 1_000_050, frame 1
  now += 100;
  stats.start();
  stats.end(); // frame 2
  assert.equal(lines.length, 0);
  now += 150;
  stats.start();
  stats.end(); // frame 3 at 1_000_300 → line
  assert.equal(lines.length, 1);
  assert.match(lines[0], FRAME_RE);
  assert.ok(
    lines[0].endsWith(
      'Frame-based FPS counter triggered: FPS = 12.00, OPS = 0.00, frame_delta = 3, time_delta = 0.25 sec, period=[1000050, 1000300] ms',
    ),
    lines[0],
  );
  for (let i = 0; i < 3; i++) {
    now += 100;
    stats.start();
    stats.end();
  }
  assert.equal(lines.length, 2);
  assert.ok(
    lines[1].endsWith('frame_delta = 3, time_delta = 0.3 sec, period=[1000300, 1000600] ms'),
    lines[1],
  );
  stats.close();
  stats.end();
  assert.equal(lines.length, 2, 'nothing counted or logged after close');
});

test('time-based: nothing before the first completion, then a line every period even without traffic', async () => {
  const { log, lines, events } = capture();
  const stats = new FpsStatistics({ timestampPeriodMs: 40 }, { log });
  // The statistics timer is unref'd (it must never keep a process alive); hold the loop open meanwhile.
  const keepAlive = setInterval(() => {}, 1000);
  // No completion yet: the timer is not even armed, so no line can come.
  assert.equal(lines.length, 0);
  stats.start();
  stats.end();
  stats.start();
  stats.end();
  const [first] = (await once(events, 'line')) as [string];
  assert.match(first, TIME_RE);
  assert.match(first, /frame_delta = 2,/);
  const [second] = (await once(events, 'line')) as [string];
  assert.match(second, /FPS = 0\.00, OPS = 0\.00, frame_delta = 0,/);
  const p1 = /period=\[(\d+), (\d+)\]/.exec(first)!;
  const p2 = /period=\[(\d+), (\d+)\]/.exec(second)!;
  assert.equal(p2[1], p1[2], 'each period starts where the previous ended');
  assert.ok(Number(p1[2]) - Number(p1[1]) >= 40);
  stats.close();
  clearInterval(keepAlive);
});

test('exactly one period must be configured', () => {
  assert.throws(() => new FpsStatistics({}), /exactly one/);
  assert.throws(() => new FpsStatistics({ framePeriod: 1, timestampPeriodMs: 1 }), /exactly one/);
});
