// The client's upgraded stream (src/client/stream.ts) against the real gateway server: batches over the
// stream over mutual TLS with our lab PKI, in order and without loss; the automatic fallback to POST /batch
// against a server with the stream turned off; and a stream that breaks after the server forwarded a batch
// but before its reply arrived (a loopback TCP relay drops the reply and cuts the connection: the one
// fault a real server cannot be made to produce on cue): the batch is retried on a new stream, nothing
// is lost, and the server's duplicate filter (the spool's message ids) keeps the retry from doubling it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SPOOL } from '../../src/config/client.js';
import type { ServerTlsConfig } from '../../src/config/types.js';
import { streamFallbacksTotal } from '../../src/client/stream.js';
import { streamBatchesTotal } from '../../src/server/stream.js';
import { buildLabPki, type LabPki } from '../helpers/openssl-pki.js';
import { buildMessage } from '../../src/savant/message.js';
import { gatewayToRouter, nextMessage } from '../server/fixtures.js';
import { clientSetup, range, runClient, sendNumbered, source, waitUntil } from './fixtures.js';

let lab: LabPki;
let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-client-stream-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

function mtls(): ServerTlsConfig {
  const dir = path.join(base, `trust-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(dir, `${lab.inter.hash}.0`), lab.inter.certPem);
  writeFileSync(path.join(dir, `${lab.root.hash}.r0`), lab.crl(lab.root));
  writeFileSync(path.join(dir, `${lab.inter.hash}.r0`), lab.crl(lab.inter));
  return {
    certificate: lab.server.certFile,
    key: lab.server.keyFile,
    clientAuth: { directory: dir, crlEnabled: true, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
  };
}

const batches = async () => (await streamBatchesTotal.get()).values[0]?.value ?? 0;
const fallbacks = async (reason: string) =>
  (await streamFallbacksTotal.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

/** The seq of a numbered message at the sink (sendNumbered puts it in the extra frame). */
const seqAt = async (reader: Parameters<typeof nextMessage>[0]) =>
  Buffer.from((await nextMessage(reader)).data[0]).toString();

test('stream over mTLS: every message of every topic arrives in order, by stream, not POST /batch', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { tls: mtls() });
  const { cfg, endpoint } = await clientSetup(t, server.url, {
    transport: { mode: 'auto', lanes: 4 },
    extra: {
      tls: {
        rootCertificate: lab.server.certFile,
        identity: { certificate: lab.clients.good.certFile, key: lab.clients.good.keyFile },
      },
    },
  });
  const before = await batches();
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  const topics = ['cam-a', 'cam-b', 'cam-c'];
  for (const seq of range(30)) for (const tp of topics) await sendNumbered(dealer, tp, seq);
  const got = new Map<string, string[]>(topics.map((tp) => [tp, []]));
  for (let i = 0; i < 90; i++) {
    const m = await nextMessage(reader);
    got.get(m.topic.toString())!.push(Buffer.from(m.data[0]).toString());
  }
  for (const tp of topics) assert.deepEqual(got.get(tp), range(30), `topic ${tp}`);
  await waitUntil(() => client.stats().delivered === 90, 'all delivered');
  assert.equal(client.stats().retries, 0);
  assert.ok((await batches()) > before, 'the batches went over the stream');
});

test('stream: batches over 1 MiB (written chunk by chunk) arrive byte for byte, in order', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const { cfg, endpoint } = await clientSetup(t, server.url, { transport: { mode: 'auto', lanes: 1 } });
  const before = await batches();
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  const frame = (i: number) => Buffer.alloc(700 * 1024 + i, i + 1);
  const message = buildMessage({ content: 'video_frame', sourceId: 'cam1' });
  for (let i = 0; i < 6; i++) await dealer.send(Buffer.from('cam1'), message, [frame(i)], false);
  for (let i = 0; i < 6; i++)
    assert.ok(Buffer.from((await nextMessage(reader)).data[0]).equals(frame(i)), `frame ${i}`);
  await waitUntil(() => client.stats().delivered === 6, 'all delivered');
  assert.equal(client.stats().retries, 0);
  assert.ok((await batches()) > before);
});

test(
  'stream with several servers (urls): each lane has its own stream, all lanes in parallel',
  { timeout: 120_000 },
  async (t) => {
    const { server, reader } = await gatewayToRouter(t);
    const other = await gatewayToRouter(t);
    const { cfg, endpoint } = await clientSetup(t, server.url, { transport: { mode: 'auto', lanes: 4 } });
    cfg.urls = [server.url, other.server.url];
    const client = await runClient(t, cfg);
    const dealer = await source(t, 'dealer', endpoint);
    const topics = ['cam-a', 'cam-b', 'cam-c', 'cam-d', 'cam-e', 'cam-f'];
    for (const seq of range(20)) for (const tp of topics) await sendNumbered(dealer, tp, seq);
    const got = new Map<string, string[]>(topics.map((tp) => [tp, []]));
    for (let i = 0; i < 120; i++) {
      const m = await nextMessage(reader);
      got.get(m.topic.toString())!.push(Buffer.from(m.data[0]).toString());
    }
    for (const tp of topics) assert.deepEqual(got.get(tp), range(20), `topic ${tp}`);
    await waitUntil(() => client.stats().delivered === 120, 'all delivered');
    assert.equal(client.stats().retries, 0);
  },
);

test('stream: a server with the stream off gets POST /batch, automatically', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { stream: false });
  const { cfg, endpoint } = await clientSetup(t, server.url, { transport: { mode: 'auto', lanes: 2 } });
  const refusedBefore = await fallbacks('refused');
  const batchesBefore = await batches();
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(10)) await sendNumbered(dealer, 'cam1', seq);
  const got = [];
  for (let i = 0; i < 10; i++) got.push(await seqAt(reader));
  assert.deepEqual(got, range(10));
  await waitUntil(() => client.stats().delivered === 10, 'all delivered');
  assert.equal(client.stats().retries, 0, 'the refused upgrade costs no retry');
  assert.ok((await fallbacks('refused')) > refusedBefore);
  assert.equal(await batches(), batchesBefore);
});

/**
 * A loopback TCP relay to `port` that, on the first connection to switch protocols, drops everything the
 * server sends after the 101 and cuts both sides: the first batch's reply is lost after it was forwarded.
 */
async function replyDroppingRelay(t: { after(fn: () => unknown): void }, port: number) {
  const state = { cut: 0 };
  const relay = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    let answer = Buffer.alloc(0);
    let armed = state.cut === 0;
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    let forwarded = 0;
    upstream.on('data', (c: Buffer) => {
      if (!armed) return void client.write(c);
      answer = Buffer.concat([answer, c]);
      const end = answer.indexOf('\r\n\r\n');
      if (end >= 0 && !answer.subarray(0, 12).toString().includes('101')) armed = false;
      const head = end < 0 || !armed ? answer.length : end + 4;
      if (head > forwarded) client.write(answer.subarray(forwarded, head));
      forwarded = head;
      if (armed && answer.length > head) {
        // the reply frame: dropped, and the connection cut on both sides
        state.cut++;
        armed = false;
        client.destroy();
        upstream.destroy();
      }
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => relay.close(r)));
  return { port: (relay.address() as AddressInfo).port, state };
}

test('stream broken after the server forwarded a batch: retried on a new stream, nothing lost, nothing doubled', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const relay = await replyDroppingRelay(t, server.port);
  const { cfg, endpoint, dir } = await clientSetup(t, `http://127.0.0.1:${relay.port}`, {
    transport: { mode: 'auto', lanes: 1 },
  });
  // a spooling client names its messages, so the server can drop what it already forwarded
  cfg.spool = { ...DEFAULT_SPOOL, dir: path.join(dir, 'spool'), sync: 'never' };
  const client = await runClient(t, cfg);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(20)) await sendNumbered(dealer, 'cam1', seq);
  await waitUntil(() => client.stats().delivered === 20, 'all delivered');
  assert.equal(relay.state.cut, 1, 'one reply was dropped');
  assert.ok(client.stats().retries >= 1, 'the batch without a reply was retried');
  const got = [];
  for (let i = 0; i < 20; i++) got.push(await seqAt(reader));
  assert.deepEqual(got, range(20), 'each message once, in order');
  // nothing after them: the retried batch was dropped by the duplicate filter
  await sendNumbered(dealer, 'cam1', 'last');
  assert.equal(await seqAt(reader), 'last');
});
