// The probe preloaded into each gateway half: event-loop delay and full-GC counts over the IPC channel,
// reset at the start of the measured part, and never keeping the process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { delayBeyondInterval, RESOLUTION_MS, type ProbeReply } from '../../src/bench/half-probe.js';

const PROBE = pathToFileURL(path.resolve('dist/bench/half-probe.js')).href;

/**
 * A child that, on 'go', blocks its event loop for 600 ms and forces one full collection. The block is far
 * longer than the delays a loaded machine adds by itself (a child not scheduled for 100 ms is not rare
 * there), so "seen" and "cleared by the reset" are told apart by the block alone. The block starts
 * 2.5 sampling intervals after 'go': Node's histogram forgets its last sample time on reset, so a block
 * before the monitor's first tick after a reset is not measured (a block 0 ms after a reset was seen as
 * 10.3 ms, 25 ms after it as 601-610 ms), and on a fast run 'go' arrived within that first interval.
 */
const CHILD = `
process.on('message', (m) => {
  if (m !== 'go') return;
  setTimeout(() => {
    const until = Date.now() + 600;
    while (Date.now() < until);
    globalThis.gc();
    setTimeout(() => process.send('done'), 50);
  }, ${RESOLUTION_MS * 2.5});
});
// alive until the test kills it (5 s was not always long enough on a loaded machine)
setTimeout(() => {}, 120_000);
`;

function ask(child: ReturnType<typeof spawn>, msg: unknown, want: string): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (m: ProbeReply | string): void => {
      if (m === want || (typeof m === 'object' && m.probe === want)) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send(msg as object);
  });
}

test('the probe reports the largest event-loop delay and full GCs since its reset', async (t) => {
  const child = spawn(process.execPath, ['--expose-gc', '--import', PROBE, '-e', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.after(() => child.kill('SIGKILL'));
  await ask(child, { probe: 'reset' }, 'reset');
  const quiet = (await ask(child, { probe: 'report' }, 'report')) as Extract<ProbeReply, { probe: 'report' }>;
  assert.equal(quiet.report.fullGcs, 0, 'nothing collected right after a reset');
  await ask(child, 'go', 'done');
  const r = (await ask(child, { probe: 'report' }, 'report')) as Extract<ProbeReply, { probe: 'report' }>;
  assert.ok(r.report.maxLoopDelayMs >= 500, `a 600 ms block seen as ${r.report.maxLoopDelayMs} ms`);
  assert.ok(r.report.fullGcs >= 1, `gc() counted as a full collection: ${r.report.fullGcs}`);
  await ask(child, { probe: 'reset' }, 'reset');
  const after = (await ask(child, { probe: 'report' }, 'report')) as Extract<ProbeReply, { probe: 'report' }>;
  assert.equal(after.report.fullGcs, 0, 'reset clears the counts');
  assert.ok(after.report.maxLoopDelayMs < 500, `and the delay histogram (${after.report.maxLoopDelayMs} ms)`);
});

test('the probe does not keep a process alive: it exits when its work is done', async () => {
  const child = spawn(process.execPath, ['--import', PROBE, '-e', 'setTimeout(() => {}, 100)'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('the delay is how late the sampling timer ran: its interval is not counted as delay', () => {
  // monitorEventLoopDelay records the time between two timer runs, the interval included
  assert.equal(delayBeyondInterval(RESOLUTION_MS * 1e6), 0, 'a timer on time is no delay');
  assert.equal(delayBeyondInterval((RESOLUTION_MS - 0.8) * 1e6), 0, 'nor one a little early');
  assert.equal(delayBeyondInterval((RESOLUTION_MS + 12.5) * 1e6), 12.5);
});
