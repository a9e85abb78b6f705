// A few bytes of x-media-gateway-message-ids must not buy a peer much server CPU: `<id>:0-65535` names
// 65,536 messages in 17 characters, and expanding it for a request that carries one Media cost about 10 ms
// of CPU per request (measured with process.cpuUsage on a loaded 2-core machine) before the header was
// checked against the number of items. CPU time of the same process, alternating the two kinds of request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMedia } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
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
