// A half that dies in the middle of a benchmark run: the run ends at once, failed, and says which half and
// how. Before, the source's sends waited for their timeouts one after another and the harness hung.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { runOne } from '../../src/bench/runner.js';
import { tempDir } from '../helpers/tmp.js';

test('a half killed during a run ends the run at once, failed, naming the half', async (t) => {
  const dir = await tempDir(t);
  let killedAt = Number.NaN;
  const result = await runOne(
    { name: 'http', purpose: 'matrix', mode: 'http', sizeBytes: 1024, streams: 2, seconds: 60, rate: 200 },
    {
      dir,
      drainTimeoutS: 20,
      onSending: (halves) => {
        halves.find((h) => h.kind === 'client')!.child.kill('SIGKILL');
        killedAt = performance.now();
      },
    },
  );
  const tookMs = performance.now() - killedAt;
  assert.equal(result.failed, true);
  assert.match(result.failures.join('; '), /^client exited during the run \(SIGKILL\)/);
  // without the watch the source would have gone on for the rest of its 60 s, then waited on its timeouts
  assert.ok(tookMs < 30_000, `the run ended ${Math.round(tookMs)} ms after the kill`);
});
