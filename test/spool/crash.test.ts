// Issue test 2: a req source with `ack: "on_persist"` that resends whatever was not acknowledged (as Savant's
// writers do); the client is killed with SIGKILL three times mid-run and restarted on the same spool. Nothing
// is lost, and with our server the sink sees no copy beyond the source's own resends. The first kill hits
// deliveries under way; the server is then away for the other two, so they hit a backlog that is replayed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
  type Proc,
} from './harness.js';

const TOTAL = 600;
const KILL_AT = [150, 300, 450];
/** the server is away from here to the last kill, so the last two kills hit a spool with a backlog */
const SERVER_DOWN_AT = 225;
const TOPICS = ['cam-a', 'cam-b'];

test(
  'kill -9 of the client three times: nothing lost, no duplicate beyond the source resends',
  { timeout: 240_000 },
  async (t) => {
    const dir = await tempDir(t, 'mg-spool-crash-');
    const l = await layout(dir, {
      reader: 'rep',
      ack: 'on_persist',
      spool: {},
      transport: { mode: 'batch' },
    });
    const sink = await Sink.open(t, l.sinkEndpoint);
    let server: Proc | undefined = await startServerProc(t, l);
    let client: Proc = await startClientProc(t, l);
    const source = await openSource(t, 'req', l.sourceEndpoint, { receiveTimeoutMs: 300 });

    const sent = new Array<number>(TOTAL).fill(0);
    let kills = 0;
    let backlogAtLastKill = 0;
    for (let i = 0; i < TOTAL; i++) {
      if (i === SERVER_DOWN_AT) {
        await stop(server!);
        server = undefined;
      }
      if (KILL_AT.includes(i)) {
        if (!server)
          backlogAtLastKill = sample(await metricsText(l.clientPort), 'media_gateway_spool_messages');
        // kill without warning, restart on the same spool
        assert.equal(await stop(client, 'SIGKILL'), 'SIGKILL');
        kills++;
        client = await startClientProc(t, l);
        if (i === KILL_AT.at(-1)) server = await startServerProc(t, l);
      }
      const m = numbered(TOPICS[i % 2], i);
      for (;;) {
        sent[i]++;
        const r = await source.send(m.topic, m.message, m.data, false);
        if (r.kind === 'ack') break;
      }
    }
    await sink.waitFor(TOTAL, 60_000);
    await until(
      () => metricsText(l.clientPort),
      (m) => sample(m, 'media_gateway_spool_messages') === 0,
      'an empty spool',
    );
    assert.equal(await stop(client), 0);

    assert.equal(kills, 3);
    assert.ok(backlogAtLastKill >= 100, `the last kill hit a backlog (${backlogAtLastKill} spooled)`);
    const received = new Array<number>(TOTAL).fill(0);
    for (const a of sink.arrivals) received[a.seq]++;
    const lost = received.flatMap((n, i) => (n === 0 ? [i] : []));
    const beyondResends = received.flatMap((n, i) => (n > sent[i] ? [i] : []));
    assert.deepEqual(lost, [], 'lost');
    assert.deepEqual(beyondResends, [], 'delivered more often than the source sent them');
    for (const topic of TOPICS) {
      const seqs = sink.arrivals.filter((a) => a.topic === topic).map((a) => a.seq);
      const firstSeen = seqs.filter((s, k) => seqs.indexOf(s) === k);
      assert.deepEqual(
        firstSeen,
        [...firstSeen].sort((a, b) => a - b),
        `${topic} in order`,
      );
    }
  },
);
