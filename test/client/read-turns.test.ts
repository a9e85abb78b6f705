// With a spool the reader lets the event loop turn after every batch's worth of bytes (transport.
// max_batch_bytes), even when ZeroMQ has a long burst queued and the spool stores every message synchronously: without the turns, the frames the reader is done
// with are not freed (their release runs on a turn of the loop) and the sender and timers starve meanwhile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SPOOL } from '../../src/config/client.js';
import { freePort } from '../helpers/net.js';
import { clientSetup, runClient, waitUntil } from './fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FRAME_BYTES = 256 * 1024;
const BURST = 64; // 16 MiB
const TURN_BYTES = 1024 * 1024;

test("a spooling reader with a 16 MiB burst queued in ZeroMQ lets the event loop turn every batch's worth (1 MiB)", async (t) => {
  // nothing listens there: the sender retries, the spool keeps everything, and the reader reads on
  const server = `http://127.0.0.1:${await freePort()}`;
  const setup = await clientSetup(t, server, {
    readerType: 'router',
    transport: { maxBatchBytes: TURN_BYTES },
  });
  setup.cfg.spool = { ...DEFAULT_SPOOL, dir: path.join(setup.dir, 'spool'), sync: 'never' };
  const client = await runClient(t, setup.cfg);

  // This process (the client's) is blocked until the source exited: the whole burst then waits in the
  // client's ZeroMQ socket, which ZeroMQ's own thread filled meanwhile.
  const source = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'fixtures', 'burst-source.ts'),
      setup.endpoint,
      `${BURST}`,
      `${FRAME_BYTES}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(source.status, 0, `source: ${source.stderr}`);

  // messages read between two consecutive turns of the loop, from before the reader got any of the burst
  let last = client.stats().read;
  let most = 0;
  let ticking = true;
  const tick = (): void => {
    const read = client.stats().read;
    most = Math.max(most, read - last);
    last = read;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  t.after(() => (ticking = false));
  await waitUntil(() => client.stats().read === BURST, `all ${BURST} messages read`, 30_000);
  ticking = false;
  tick(); // the reads since the last turn the ticker saw

  const perTurn = Math.ceil(TURN_BYTES / FRAME_BYTES) + 1;
  if (most > perTurn) assert.fail(`at most ${perTurn} messages read in one turn of the loop, saw ${most}`);
  assert.ok(most >= 1);
});
