// A few bytes of x-media-gateway-message-ids must not buy a peer much server CPU: `<id>:0-65535` names
// 65,536 messages in 17 characters, and expanding it for a request that carries one Media cost about 10 ms
// of CPU per request (measured with process.cpuUsage on a loaded 2-core machine) before the header was
// checked against the number of items. CPU time of the same process, alternating the two kinds of request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMedia } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { DuplicateFilter, WINDOW } from '../../src/server/duplicates.js';
import { MESSAGE_IDS_HEADER } from '../../src/spool/identity.js';
import { gatewayToRouter, nextMessage, post, PROTOBUF } from './fixtures.js';

const INSTANCE = 'ab'.repeat(16);
const ROUNDS = 60;

test('a short header naming 65,536 messages costs no more CPU than one naming one', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const body = encodeMedia({
    topic: new TextEncoder().encode('cam'),
    message: buildMessage({ content: 'video_frame', sourceId: 'cam' }),
    data: [],
  });
  const cpu = { plain: 0, wide: 0 };
  let seq = 0;
  for (let i = 0; i < ROUNDS; i++) {
    for (const kind of ['plain', 'wide'] as const) {
      const ids = kind === 'wide' ? `${INSTANCE}:${seq}-${seq + 65535}` : `${INSTANCE}:${seq}`;
      seq += 70_000;
      const before = process.cpuUsage();
      const r = await post(server.url, body, { ...PROTOBUF, [MESSAGE_IDS_HEADER]: ids });
      const used = process.cpuUsage(before);
      cpu[kind] += (used.user + used.system) / 1000;
      assert.equal(r.status, 200);
      await nextMessage(reader); // forwarded either way: a header that does not fit is ignored
    }
  }
  const extraPerRequest = (cpu.wide - cpu.plain) / ROUNDS;
  assert.ok(
    extraPerRequest < 1,
    `extra CPU per request: ${extraPerRequest.toFixed(2)} ms (plain ${(cpu.plain / ROUNDS).toFixed(2)} ms)`,
  );
});

test('sequence numbers that jump by almost the window cost the filter no more than consecutive ones', async () => {
  const filter = new DuplicateFilter();
  const cpu = { consecutive: 0, jumping: 0 };
  const next = { consecutive: 0, jumping: 1e9 };
  for (let round = 0; round < 20; round++) {
    for (const kind of ['consecutive', 'jumping'] as const) {
      const before = process.cpuUsage();
      for (let i = 0; i < 100; i++) {
        next[kind] += kind === 'jumping' ? WINDOW - 1 : 1;
        await filter.forward(kind, INSTANCE, next[kind], async () => 200);
      }
      const used = process.cpuUsage(before);
      cpu[kind] += (used.user + used.system) / 1000;
    }
  }
  const perMessage = (ms: number) => ((ms / 2000) * 1000).toFixed(1);
  assert.ok(
    cpu.jumping < cpu.consecutive * 3 + 20,
    `CPU per message: jumping ${perMessage(cpu.jumping)} µs, consecutive ${perMessage(cpu.consecutive)} µs`,
  );
});

test('after a jump the window forgets exactly the numbers that fell out of it', async () => {
  for (const base of [0, 3, 1000]) {
    for (const jump of [WINDOW - 1, WINDOW - 9, 40_003]) {
      const filter = new DuplicateFilter();
      let forwards = 0;
      const run = async () => (forwards++, 200);
      for (let s = base; s < base + 2000; s++) await filter.forward('', INSTANCE, s, run);
      const highest = base + 1999 + jump;
      await filter.forward('', INSTANCE, highest, run);
      // numbers within the window that share a bit with one forwarded before the jump were never forwarded
      forwards = 0;
      let asked = 0;
      for (let s = base + WINDOW; s < base + 2000 + WINDOW; s++) {
        if (s >= highest || s <= highest - WINDOW) continue;
        asked++;
        await filter.forward('', INSTANCE, s, run);
      }
      assert.equal(forwards, asked, `base ${base}, jump ${jump}: every one forwarded`);
      // and the ones still inside the window from before the jump are still known
      forwards = 0;
      for (let s = Math.max(base, highest - WINDOW + 1); s < base + 2000; s++)
        await filter.forward('', INSTANCE, s, run);
      assert.equal(forwards, 0, `base ${base}, jump ${jump}: none of the known ones forwarded again`);
    }
  }
});
