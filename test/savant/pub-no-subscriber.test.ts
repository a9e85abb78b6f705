// A pub writer reports success for what ZeroMQ drops while no subscriber is connected; the loss is made
// visible in media_gateway_writer_dropped_no_subscriber_total and one warning per period without
// subscribers. Real pub writers and raw zeromq subscribers on ipc paths in temp dirs, and a real gateway
// server process scraped over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as zmq from 'zeromq';
import { startCli } from '../helpers/cli.js';
import { serverJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { scrape, value } from '../metrics/prom.js';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia } from '../../src/savant/media.js';
import { writerDroppedNoSubscriberTotal } from '../../src/metrics/registry.js';
import type { PubPeerWatch } from '../../src/savant/peer-watch.js';
import type { SavantWriter } from '../../src/savant/writer.js';
import { post } from '../server/http-client.js';
import { openWriter, writerCfg } from './harness.js';

const DROPPED = 'media_gateway_writer_dropped_no_subscriber_total';
const frame = buildMessage({ content: 'video_frame', sourceId: 'cam' });

async function dropped(): Promise<number> {
  return (await writerDroppedNoSubscriberTotal.get()).values[0]?.value ?? 0;
}

async function sendSome(writer: SavantWriter, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    assert.equal((await writer.send(Buffer.from('cam'), frame, [], false)).kind, 'success');
}

/** Resolves once the monitor has reported `n` connected peers. */
async function peersReach(watch: PubPeerWatch, n: number): Promise<void> {
  while (watch.peers !== n) await once(watch, 'change');
}

test('pub+bind: sends while no subscriber is connected are counted; connected ones are not', async (t) => {
  const url = `ipc://${path.join(await tempDir(t), 'pub')}`;
  const writer = await openWriter(t, writerCfg(`pub+bind:${url}`));
  const watch = writer.peers!;
  const before = await dropped();
  await sendSome(writer, 5);
  assert.equal((await dropped()) - before, 5);

  const sub = new zmq.Subscriber({ linger: 0 });
  t.after(() => (sub.closed ? undefined : sub.close()));
  sub.subscribe();
  sub.connect(url);
  await peersReach(watch, 1);
  await sendSome(writer, 3);
  assert.equal((await dropped()) - before, 5, 'nothing counted while a subscriber is connected');

  sub.close();
  await peersReach(watch, 0);
  await sendSome(writer, 2);
  assert.equal((await dropped()) - before, 7);
});

test('pub+connect: counted until the subscriber it connects to is bound', async (t) => {
  const url = `ipc://${path.join(await tempDir(t), 'sub')}`;
  const writer = await openWriter(t, writerCfg(`pub+connect:${url}`));
  const before = await dropped();
  await sendSome(writer, 4);
  assert.equal((await dropped()) - before, 4);

  const sub = new zmq.Subscriber({ linger: 0 });
  t.after(() => sub.close());
  sub.subscribe();
  await sub.bind(url);
  await peersReach(writer.peers!, 1);
  await sendSome(writer, 4);
  assert.equal((await dropped()) - before, 4);
});

test('req and dealer writers have no subscriber watch', async (t) => {
  const dir = await tempDir(t);
  for (const type of ['req', 'dealer']) {
    const writer = await openWriter(t, writerCfg(`${type}+bind:ipc://${path.join(dir, type)}`));
    assert.equal(writer.peers, undefined);
  }
});

test('gateway server with a pub writer and no subscriber: 200s counted as dropped in /metrics, one warning', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const sock = path.join(dir, 'out.ipc');
  const file = path.join(dir, 'server.json');
  await writeFile(file, serverJson({ port }, { url: `pub+bind:ipc://${sock}` }));
  const cli = startCli(t, ['server', file]);
  await cli.waitForOutput(/listening on/);
  const body = encodeMedia({ message: frame, topic: Buffer.from('cam'), data: [] });
  for (let i = 0; i < 3; i++) assert.equal((await post(`http://127.0.0.1:${port}/`, body)).status, 200);

  assert.equal(value(await scrape(`http://127.0.0.1:${port}/metrics`), DROPPED), 3);
  const warnings = cli.output().match(/WARN .*pub writer has no subscriber connected[^\n]*/g) ?? [];
  assert.equal(warnings.length, 1, cli.output());
  assert.match(warnings[0], new RegExp(`url=pub\\+bind:ipc://${sock}`));

  // a subscriber ends the period: its first message arrives, and the next period would warn again
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 30_000 });
  t.after(() => sub.close());
  sub.subscribe();
  sub.connect(`ipc://${sock}`);
  await cli.waitForOutput(/pub writer has a subscriber again[^\n]*dropped=3/);
  const got = sub.receive();
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'a message reaches the subscriber');
    assert.equal((await post(`http://127.0.0.1:${port}/`, body)).status, 200);
    if (await Promise.race([got, new Promise<null>((r) => setTimeout(() => r(null), 25))])) break;
  }
  assert.equal(value(await scrape(`http://127.0.0.1:${port}/metrics`), DROPPED), 3);
});
