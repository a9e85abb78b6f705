// The server's mg.server.store span for each outcome (status and mg.outcome), the client's attempt events
// after a forced retry, refused requests as rate-limited root spans, and forwarding that goes on while the
// collector is down or hangs. Requests to the server are made by hand here, with the standard headers or
// x-media-gateway-trace-contexts, so that each outcome is produced exactly once.
import assert from 'node:assert/strict';
import test from 'node:test';
import { readFile } from 'node:fs/promises';
import { Etcd3 } from 'etcd3';
import * as zmq from 'zeromq';
import { makePki } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';
import type { ServerConfig } from '../../src/config/types.js';
import { encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { readPropagatedContext } from '../../src/savant/propagated-context.js';
import { encodeEntry, TRACE_CONTEXTS_HEADER } from '../../src/telemetry/item-contexts.js';
import { clientSetup, runClient, source, waitUntil } from '../client/fixtures.js';
import { basic, basicConfig, VECTORS } from '../helpers/basic-auth.js';
import { startEtcd } from '../helpers/etcd.js';
import { freePort } from '../helpers/net.js';
import {
  gateway,
  nextMessage,
  post,
  PROTOBUF,
  serverConfig,
  sink,
  tcp,
  writerConfig,
} from '../server/fixtures.js';
import { startOtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { sourceContext, telemetryConfig, tracedGateway, tracedMessage } from './fixtures.js';

const enc = new TextEncoder();
const storeOf = (spans: ReceivedSpan[], traceId: string) =>
  spans.find((s) => s.traceId === traceId && s.name === 'mg.server.store');

/** POSTs one Media to / with a sampled traceparent; resolves to the status and the trace id. */
async function postTraced(url: string, media: Uint8Array, headers: Record<string, string> = {}) {
  const ctx = sourceContext();
  const res = await post(url + '/', media, { ...PROTOBUF, traceparent: ctx.traceparent, ...headers });
  return { status: res.status, ctx };
}

async function expectStore(
  otlp: Awaited<ReturnType<typeof startOtlpReceiver>>,
  traceId: string,
  outcome: string,
  status: number,
): Promise<ReceivedSpan> {
  await otlp.waitFor((s) => storeOf(s, traceId) !== undefined, `the ${outcome} span`);
  const span = storeOf(otlp.spans, traceId)!;
  assert.equal(span.attributes['mg.outcome'], outcome);
  assert.equal(span.attributes['http.response.status_code'], status);
  assert.equal(span.status.code, status === 200 ? 1 : 2, `${outcome}: span status`);
  return span;
}

const frame = (topic: string, labels: string[] = []) =>
  buildMessage({ content: 'video_frame', sourceId: topic, routingLabels: labels });

test('invalid topic and no message: error status on the span continuing the header context', async (t) => {
  const { otlp, server } = await tracedGateway(t);
  const badTopic = await postTraced(
    server.url,
    encodeMedia({ message: frame('cam'), topic: new Uint8Array([0xff, 0xfe]), data: [] }),
  );
  assert.equal(badTopic.status, 400);
  const span = await expectStore(otlp, badTopic.ctx.traceId, 'invalid_topic', 400);
  assert.equal(span.parentSpanId, badTopic.ctx.spanId);
  assert.match(span.status.message, /topic is not valid UTF-8/);

  const noMessage = await postTraced(server.url, encodeMedia({ topic: enc.encode('cam'), data: [] }));
  assert.equal(noMessage.status, 400);
  await expectStore(otlp, noMessage.ctx.traceId, 'no_message', 400);
});

test('no content, a malformed message and a decode limit: 400, 400 and 413 as error statuses', async (t) => {
  const { otlp, server } = await tracedGateway(t);
  // a Message with a protocol version ("0.2.0") and no content: the original panics here, we answer 400
  const version = new Uint8Array([0x0a, 0x05, 0x30, 0x2e, 0x32, 0x2e, 0x30]);
  const noContent = await postTraced(
    server.url,
    encodeMedia({ message: version, topic: enc.encode('cam'), data: [] }),
  );
  assert.equal(noContent.status, 400);
  await expectStore(otlp, noContent.ctx.traceId, 'no_content', 400);

  // field 1 as a length-delimited string longer than the bytes that follow: not a Message
  const malformed = await postTraced(
    server.url,
    encodeMedia({ message: new Uint8Array([0x0a, 0x7f, 0x30]), topic: enc.encode('cam'), data: [] }),
  );
  assert.equal(malformed.status, 400);
  const span = await expectStore(otlp, malformed.ctx.traceId, 'malformed', 400);
  assert.equal(span.parentSpanId, malformed.ctx.spanId);

  // one routing label over the default limits.max_routing_labels (256): 413 before any label is decoded
  const labels = Array.from({ length: 257 }, (_, i) => `l${i}`);
  const overLimit = await postTraced(
    server.url,
    encodeMedia({ message: frame('cam', labels), topic: enc.encode('cam'), data: [] }),
  );
  assert.equal(overLimit.status, 413);
  await expectStore(otlp, overLimit.ctx.traceId, 'decode_limit', 413);
});

test('send timeout and ack timeout: 504 and 502 as error statuses', async (t) => {
  const otlp = await startOtlpReceiver(t);
  const telemetry = telemetryConfig(otlp.url, 'http_json', 's');
  // a bound dealer with no peer cannot send: the send times out
  const nowhere = await tcp();
  const blocked = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:${nowhere}`, { sendTimeoutMs: 50 }), { telemetry }),
  );
  const sendTimeout = await postTraced(
    blocked.url,
    encodeMedia({ message: frame('cam'), topic: enc.encode('cam'), data: [] }),
  );
  assert.equal(sendTimeout.status, 504);
  await expectStore(otlp, sendTimeout.ctx.traceId, 'send_timeout', 504);

  // a req writer whose rep sink never answers (on_delivery, never acknowledged): the ack times out
  const ep = await tcp();
  await sink(t, `rep+bind:${ep}`, { ack: 'on_delivery' });
  const silent = await gateway(
    t,
    serverConfig(writerConfig(`req+connect:${ep}`, { receiveTimeoutMs: 100 }), { telemetry }),
  );
  const ackTimeout = await postTraced(
    silent.url,
    encodeMedia({ message: frame('cam'), topic: enc.encode('cam'), data: [] }),
  );
  assert.equal(ackTimeout.status, 502);
  await expectStore(otlp, ackTimeout.ctx.traceId, 'ack_timeout', 502);
});

test('a ZeroMQ send error: 500 as an error status (send_error)', async (t) => {
  const otlp = await startOtlpReceiver(t);
  const telemetry = telemetryConfig(otlp.url, 'http_binary', 's');
  // raw socket answering the end-of-stream with something other than OK: a fault a Savant sink never makes
  const ep = await tcp();
  const wrong = new zmq.Router();
  t.after(() => wrong.close());
  await wrong.bind(ep);
  void (async () => {
    for await (const [rid] of wrong) await wrong.send([rid, 'NO']);
  })().catch(() => undefined);
  const server = await gateway(t, serverConfig(writerConfig(`dealer+connect:${ep}`), { telemetry }));
  const eos = buildMessage({ content: 'end_of_stream', sourceId: 'cam' });
  const r = await postTraced(server.url, encodeMedia({ message: eos, topic: enc.encode('cam'), data: [] }));
  assert.equal(r.status, 500);
  const span = await expectStore(otlp, r.ctx.traceId, 'send_error', 500);
  assert.match(span.status.message, /ZeroMQ send failed/);
});

test('routing labels forbidden, identity and labels as attributes; refused credentials as rate-limited root spans', async (t) => {
  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv
    .put('/users/user1')
    .value(JSON.stringify({ password_hash: VECTORS.password1, allowed_routing_labels: { set: 'cam' } }));
  const otlp = await startOtlpReceiver(t);
  const ep = await tcp();
  const reader = await sink(t, `router+bind:${ep}`);
  const cfg: ServerConfig = serverConfig(writerConfig(`dealer+connect:${ep}`), {
    auth: { basic: basicConfig(etcd) },
    telemetry: {
      ...telemetryConfig(otlp.url, 'http_binary', 's'),
      sampling: { ratio: 1, rejectionsPerMinute: 2 },
    },
  });
  const server = await gateway(t, cfg);
  const good = { Authorization: basic('user1', 'password1') };

  const media = (labels: string[]) =>
    encodeMedia({ message: frame('cam', labels), topic: enc.encode('cam'), data: [] });
  const forbidden = await postTraced(server.url, media(['other']), good);
  assert.equal(forbidden.status, 401);
  const span = await expectStore(otlp, forbidden.ctx.traceId, 'forbidden', 401);
  assert.equal(span.attributes['enduser.id'], 'user1');
  assert.deepEqual(span.attributes['mg.routing_labels'], ['other']);

  const got = nextMessage(reader);
  const allowed = await postTraced(server.url, media(['cam']), good);
  assert.equal(allowed.status, 200);
  await got;
  await expectStore(otlp, allowed.ctx.traceId, 'forwarded', 200);

  // three refused requests, two allowed per minute: two root spans
  for (let i = 0; i < 3; i++) {
    const r = await post(server.url + '/', media(['cam']), {
      ...PROTOBUF,
      Authorization: basic('user1', 'wrong'),
    });
    assert.notEqual(r.status, 200);
  }
  await otlp.waitFor((s) => s.filter((x) => x.name === 'mg.server.rejected').length >= 2, 'rejection spans');
  const rejected = otlp.spans.filter((x) => x.name === 'mg.server.rejected');
  assert.equal(rejected[0].parentSpanId, '');
  assert.equal(rejected[0].attributes['mg.rejection'], 'basic_auth');
  assert.equal(rejected[0].attributes['client.address'], '127.0.0.1');
  assert.equal(rejected[0].status.code, 2);
  // the third was suppressed: let one more export interval pass after a traced request, then count
  const last = await postTraced(server.url, media(['cam']), good);
  await expectStore(otlp, last.ctx.traceId, 'forwarded', 200);
  assert.equal(otlp.spans.filter((x) => x.name === 'mg.server.rejected').length, 2);
});

test('a batch carries one context per item: each item its own server span, untraced items untouched', async (t) => {
  const { otlp, reader, server } = await tracedGateway(t);
  const a = sourceContext();
  const b = sourceContext();
  const plain = frame('cam');
  const items = [frame('cam'), plain, frame('cam')].map((m) =>
    encodeMedia({ message: m, topic: enc.encode('cam'), data: [] }),
  );
  const entry = (c: { traceId: string; spanId: string }) =>
    encodeEntry({ traceId: c.traceId, spanId: c.spanId, traceFlags: 1 });
  const received = [nextMessage(reader), nextMessage(reader), nextMessage(reader)];
  const res = await post(server.url + '/batch', encodeMediaBatch(items), {
    ...PROTOBUF,
    [TRACE_CONTEXTS_HEADER]: `${entry(a)},,${entry(b)}`,
  });
  assert.equal(res.status, 200);
  const got = await Promise.all(received);
  const sa = await expectStore(otlp, a.traceId, 'forwarded', 200);
  const sb = await expectStore(otlp, b.traceId, 'forwarded', 200);
  assert.equal(sa.parentSpanId, a.spanId);
  assert.equal(sb.parentSpanId, b.spanId);
  assert.equal(readPropagatedContext(got[0].message).traceparent, `00-${a.traceId}-${sa.spanId}-01`);
  assert.deepEqual(Buffer.from(got[1].message), Buffer.from(plain));
  assert.equal(readPropagatedContext(got[2].message).traceparent, `00-${b.traceId}-${sb.spanId}-01`);
});

test('a forced retry: one attempt event per request, numbered, with its result', async (t) => {
  const otlp = await startOtlpReceiver(t);
  const port = await freePort();
  const setup = await clientSetup(t, `http://127.0.0.1:${port}`, {
    extra: { telemetry: telemetryConfig(otlp.url, 'http_json', 'c') },
  });
  const client = await runClient(t, setup.cfg);
  const src = await source(t, 'dealer', setup.endpoint);
  const ctx = sourceContext();
  await src.send(enc.encode('cam'), tracedMessage('cam', { traceparent: ctx.traceparent }), [], false);
  // nothing listens yet: the first attempt fails, then the server comes up on that port
  await waitUntil(() => client.stats().retries >= 1, 'a retry');
  const ep = await tcp();
  const reader = await sink(t, `router+bind:${ep}`);
  const got = nextMessage(reader);
  await gateway(t, serverConfig(writerConfig(`dealer+connect:${ep}`), { port }));
  await got;
  await otlp.waitFor(
    (s) => s.some((x) => x.traceId === ctx.traceId && x.name === 'mg.client.forward'),
    'forward span',
  );
  const forward = otlp.spans.find((x) => x.traceId === ctx.traceId && x.name === 'mg.client.forward')!;
  const attempts = forward.events.map((e) => e.attributes);
  assert.ok(attempts.length >= 2);
  attempts.forEach((a, i) => assert.equal(a['mg.attempt.number'], i + 1));
  assert.equal(attempts[0]['mg.attempt.result'], 'transport_error ECONNREFUSED');
  assert.equal(attempts.at(-1)!['mg.attempt.result'], 'delivered');
  assert.equal(forward.status.code, 1);
});

for (const collector of ['down', 'hanging'] as const) {
  test(`a collector that is ${collector}: messages are forwarded as fast as without one, stop is bounded`, async (t) => {
    const hanging = collector === 'hanging' ? await startOtlpReceiver(t, { hang: true }) : undefined;
    const endpoint = hanging?.url ?? `http://127.0.0.1:${await freePort()}/v1/traces`;
    const telemetry = telemetryConfig(endpoint, 'http_binary', 'x', {});
    const ep = await tcp();
    const reader = await sink(t, `router+bind:${ep}`);
    const server = await gateway(t, serverConfig(writerConfig(`dealer+connect:${ep}`), { telemetry }));
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      const got = nextMessage(reader);
      const r = await postTraced(
        server.url,
        encodeMedia({
          message: tracedMessage('cam', { traceparent: sourceContext().traceparent }),
          topic: enc.encode('cam'),
          data: [],
        }),
      );
      assert.equal(r.status, 200);
      await got;
    }
    // 50 traced messages forwarded while the exporter fails: no export is awaited on the way. Awaiting the
    // hanging collector would cost the tracer timeout (2 s) per message, 100 s in all; 20 s leaves a loaded
    // machine room for 50 ordinary round trips.
    const forwardingMs = performance.now() - started;
    assert.ok(forwardingMs < 20_000, `50 messages took ${forwardingMs} ms`);
    if (hanging) await waitUntil(() => hanging.requests.length > 0, 'an export attempt');
    const closing = performance.now();
    await server.close();
    // shutdown waits for the exporter at most the tracer timeout (2 s here), not the exporter's default 10 s
    assert.ok(performance.now() - closing < 8000, `close took ${performance.now() - closing} ms`);
  });
}

test('mutual TLS: a client without a certificate becomes a rejection span; spans go to an https collector trusting our CA', async (t) => {
  const pki = await makePki(await tempDir(t, 'mg-trace-pki-'));
  const otlp = await startOtlpReceiver(t, {
    tls: { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) },
  });
  const ep = await tcp();
  await sink(t, `router+bind:${ep}`);
  const telemetry = telemetryConfig(otlp.url, 'http_binary', 's');
  telemetry.tracer.tls = { certificate: pki.caCert };
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+connect:${ep}`), {
      tls: {
        certificate: pki.serverCert,
        key: pki.serverKey,
        clientAuth: {
          directory: pki.hashDir,
          crlEnabled: true,
          pollIntervalMs: 1000,
          crlExpiryWarningMs: 3_600_000,
        },
      },
      telemetry,
    }),
  );
  const ca = await readFile(pki.caCert, 'utf8');
  await post(
    server.url + '/',
    encodeMedia({ message: frame('cam'), topic: enc.encode('cam'), data: [] }),
    PROTOBUF,
    {
      ca,
    },
  ).catch(() => undefined); // refused: by the handshake or with a 401, either is a rejection
  await otlp.waitFor((s) => s.some((x) => x.name === 'mg.server.rejected'), 'the rejection span');
  const span = otlp.spans.find((x) => x.name === 'mg.server.rejected')!;
  assert.equal(span.attributes['mg.rejection'], 'tls_peer');
  assert.equal(span.attributes['error.type'], 'no_certificate');
  assert.equal(span.status.code, 2);
  assert.equal(span.attributes['client.address'], '127.0.0.1');
});
