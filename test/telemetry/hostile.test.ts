// Tracing against a hostile peer: peer-chosen strings that become span attributes are capped, hostile
// x-media-gateway-trace-contexts headers and propagated contexts neither break forwarding nor touch
// untraced messages, and failed TLS handshakes become rate-limited rejection spans.
import assert from 'node:assert/strict';
import test from 'node:test';
import net from 'node:net';
import { makePki } from '../../src/pki/index.js';
import { encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { formatMessageIds, MESSAGE_IDS_HEADER } from '../../src/spool/identity.js';
import { readPropagatedContext } from '../../src/savant/propagated-context.js';
import { encodeEntry, TRACE_CONTEXTS_HEADER } from '../../src/telemetry/item-contexts.js';
import { telemetrySpansDroppedTotal } from '../../src/metrics/registry.js';
import {
  MAX_ATTRIBUTE_CHARS,
  MAX_EXPORT_BATCH,
  MAX_QUEUED_SPANS,
  startTracing,
} from '../../src/telemetry/tracing.js';
import { clientSetup, runClient, source, waitUntil } from '../client/fixtures.js';
import { freePort } from '../helpers/net.js';
import { current } from '../metrics/prom.js';
import { tempDir } from '../helpers/tmp.js';
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
import { v1Header } from '../proxy-protocol/encode.js';
import { startOtlpReceiver } from './otlp-receiver.js';
import { sourceContext, telemetryConfig, tracedGateway, tracedMessage } from './fixtures.js';

const enc = new TextEncoder();

test('peer-chosen topic and routing labels are cut to MAX_ATTRIBUTE_CHARS in the span, forwarded whole', async (t) => {
  const { otlp, reader, server } = await tracedGateway(t);
  const ctx = sourceContext();
  const label = 'L'.repeat(200_000);
  const topic = 'T'.repeat(5_000);
  const message = buildMessage({ content: 'video_frame', sourceId: topic, routingLabels: [label] });
  const got = nextMessage(reader);
  const res = await post(server.url + '/', encodeMedia({ message, topic: enc.encode(topic), data: [] }), {
    ...PROTOBUF,
    traceparent: ctx.traceparent,
  });
  assert.equal(res.status, 200);
  const delivered = await got;
  assert.ok(Buffer.from(delivered.message).includes(label), 'the label is forwarded whole');
  await otlp.waitFor((s) => s.some((x) => x.traceId === ctx.traceId), 'the store span');
  const span = otlp.spans.find((x) => x.traceId === ctx.traceId)!;
  assert.equal((span.attributes['mg.topic'] as string).length, MAX_ATTRIBUTE_CHARS);
  assert.equal((span.attributes['mg.routing_labels'] as string[])[0].length, MAX_ATTRIBUTE_CHARS);
});

test('hostile trace-contexts headers: items forwarded, untraced ones byte for byte, no span from a bad entry', async (t) => {
  const { otlp, reader, server } = await tracedGateway(t);
  const plain = buildMessage({ content: 'video_frame', sourceId: 'cam' });
  const good = sourceContext();
  const valid = encodeEntry({ traceId: good.traceId, spanId: good.spanId, traceFlags: 1 });
  const zero = encodeEntry({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 });
  const unsampled = encodeEntry({ traceId: good.traceId, spanId: good.spanId, traceFlags: 0 });
  const headers = [
    'A'.repeat(15_000), // one huge entry, under Node's 16 KiB header limit
    `${valid},${valid},${valid}`, // count mismatch (2 items): ignored as a whole
    `${zero},${unsampled}`, // all-zero ids, unsampled flag
    `${valid.slice(0, 33)}é,${valid}x`, // non-ASCII, overlong
    `${','.repeat(5000)}`, // thousands of empty entries
    `${valid.replace(/./, '+')},${valid.replace(/./, '/')}`, // base64 (not base64url) characters
  ];
  for (const header of headers) {
    const items = [plain, plain].map((m) => encodeMedia({ message: m, topic: enc.encode('cam'), data: [] }));
    const received = [nextMessage(reader), nextMessage(reader)];
    const res = await post(server.url + '/batch', encodeMediaBatch(items), {
      ...PROTOBUF,
      [TRACE_CONTEXTS_HEADER]: header,
    });
    assert.equal(res.status, 200, header.slice(0, 40));
    for (const got of await Promise.all(received))
      assert.deepEqual(Buffer.from(got.message), Buffer.from(plain));
  }
  // a last traced request proves the exporter ran after all of the above: none of them made a span
  const last = sourceContext();
  const got = nextMessage(reader);
  const res = await post(
    server.url + '/',
    encodeMedia({ message: plain, topic: enc.encode('cam'), data: [] }),
    { ...PROTOBUF, traceparent: last.traceparent },
  );
  assert.equal(res.status, 200);
  await got;
  await otlp.waitFor((s) => s.some((x) => x.traceId === last.traceId), 'the last span');
  assert.deepEqual(
    otlp.spans.map((s) => s.traceId),
    [last.traceId],
  );
});

test('hostile propagated contexts: overlong, bad flags, all-zero ids, thousands of tracestate entries', async (t) => {
  const { otlp, reader, server } = await tracedGateway(t);
  const good = sourceContext();
  const carriers: Record<string, string>[] = [
    { traceparent: '00-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01' + '-x'.repeat(50_000) },
    { traceparent: `00-${good.traceId}-${good.spanId}-zz` },
    { traceparent: `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01` },
    { traceparent: `ff-${good.traceId}-${good.spanId}-01` },
    { 'uber-trace-id': `${good.traceId}:${good.spanId}:0:%E0%A4%A` }, // not our format, bad escape
  ];
  for (const carrier of carriers) {
    const message = tracedMessage('cam', carrier);
    const got = nextMessage(reader);
    const res = await post(server.url + '/', encodeMedia({ message, topic: enc.encode('cam'), data: [] }));
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from((await got).message), Buffer.from(message), 'untraced: untouched');
  }
  // a valid context with 5000 tracestate entries: traced, the state is cut to what W3C allows (32 entries)
  const state = Array.from({ length: 5000 }, (_, i) => `k${i}=v${i}`).join(',');
  const message = tracedMessage('cam', { traceparent: good.traceparent, tracestate: state, other: 'kept' });
  const got = nextMessage(reader);
  const res = await post(server.url + '/', encodeMedia({ message, topic: enc.encode('cam'), data: [] }));
  assert.equal(res.status, 200);
  const carrier = readPropagatedContext((await got).message);
  assert.equal(carrier.other, 'kept');
  assert.ok(carrier.traceparent.startsWith(`00-${good.traceId}-`));
  assert.ok((carrier.tracestate ?? '').split(',').length <= 32);
  await otlp.waitFor((s) => s.some((x) => x.traceId === good.traceId), 'the store span');
  assert.deepEqual(
    otlp.spans.map((s) => s.traceId),
    [good.traceId],
  );
});

test('failed TLS handshakes become tls_handshake rejection spans, rate-limited', async (t) => {
  const pki = await makePki(await tempDir(t, 'mg-trace-hs-'));
  const otlp = await startOtlpReceiver(t);
  const ep = await tcp();
  await sink(t, `router+bind:${ep}`);
  const telemetry = telemetryConfig(otlp.url, 'http_binary', 's');
  telemetry.sampling.rejectionsPerMinute = 2;
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+connect:${ep}`), {
      tls: { certificate: pki.serverCert, key: pki.serverKey },
      telemetry,
    }),
  );
  const { port } = new URL(server.url);
  // plain HTTP to the TLS port, five times: each handshake fails, two spans per minute are allowed
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('error', () => undefined);
      s.on('close', () => resolve());
      s.resume();
    });
  }
  await otlp.waitFor((s) => s.filter((x) => x.name === 'mg.server.rejected').length >= 2, 'rejection spans');
  const spans = otlp.spans.filter((x) => x.name === 'mg.server.rejected');
  assert.equal(spans[0].attributes['mg.rejection'], 'tls_handshake');
  assert.equal(spans[0].attributes['client.address'], '127.0.0.1');
  assert.equal(spans[0].parentSpanId, '');
  // closing flushes what is queued: still two
  await server.close();
  assert.equal(otlp.spans.filter((x) => x.name === 'mg.server.rejected').length, 2);
});

test('behind a trusted PROXY protocol balancer, rejection spans name the client, not the balancer', async (t) => {
  const pki = await makePki(await tempDir(t, 'mg-trace-pp-'));
  const otlp = await startOtlpReceiver(t);
  const ep = await tcp();
  await sink(t, `router+bind:${ep}`);
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+connect:${ep}`), {
      tls: { certificate: pki.serverCert, key: pki.serverKey },
      proxyProtocol: { trusted: ['127.0.0.1/32'], required: true, headerTimeoutMs: 3000 },
      telemetry: telemetryConfig(otlp.url, 'http_binary', 's'),
    }),
  );
  const port = Number(new URL(server.url).port);
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(v1Header('203.0.113.7', 40000, port));
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // plain HTTP where TLS is expected
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.resume();
  });
  await otlp.waitFor((s) => s.some((x) => x.name === 'mg.server.rejected'), 'the rejection span');
  const span = otlp.spans.find((x) => x.name === 'mg.server.rejected')!;
  assert.equal(span.attributes['mg.rejection'], 'tls_handshake');
  assert.equal(span.attributes['client.address'], '203.0.113.7');
});

test('spans beyond the export queue of an unreachable collector are dropped and counted, then the failed export', async (t) => {
  const endpoint = `http://127.0.0.1:${await freePort()}/v1/traces`; // nobody listens
  const cfg = telemetryConfig(endpoint, 'http_binary', 'q');
  cfg.tracer.timeoutMs = 500;
  const tracing = await startTracing(cfg, 'client');
  t.after(() => tracing.shutdown());
  const queueFull = await current(telemetrySpansDroppedTotal, { reason: 'queue_full' });
  const failed = await current(telemetrySpansDroppedTotal, { reason: 'export_failed' });
  const parent = tracing.sampledParent({ traceparent: sourceContext().traceparent })!;
  // ended synchronously: the first full batch leaves for the exporter, the queue behind it fills
  const extra = 100;
  for (let i = 0; i < MAX_QUEUED_SPANS + MAX_EXPORT_BATCH + extra; i++)
    tracing.tracer.startSpan('s', {}, parent).end();
  assert.equal(await current(telemetrySpansDroppedTotal, { reason: 'queue_full' }), queueFull + extra);
  await waitUntil(
    async () => (await current(telemetrySpansDroppedTotal, { reason: 'export_failed' })) > failed,
    'the failed export counted',
  );
});

test('a duplicate dropped by the server still gets its store span, outcome duplicate', async (t) => {
  const { otlp, reader, server } = await tracedGateway(t);
  const media = encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam' }),
    topic: enc.encode('cam'),
    data: [],
  });
  const ids = { [MESSAGE_IDS_HEADER]: formatMessageIds('ab'.repeat(16), [7]) };
  const first = sourceContext();
  const got = nextMessage(reader);
  const a = await post(server.url + '/', media, { ...PROTOBUF, ...ids, traceparent: first.traceparent });
  assert.equal(a.status, 200);
  await got;
  const again = sourceContext(); // the client's second attempt: a new forward span, same message id
  const b = await post(server.url + '/', media, { ...PROTOBUF, ...ids, traceparent: again.traceparent });
  assert.equal(b.status, 200);
  await otlp.waitFor((s) => s.some((x) => x.traceId === again.traceId), 'the duplicate span');
  const span = otlp.spans.find((x) => x.traceId === again.traceId)!;
  assert.equal(span.name, 'mg.server.store');
  assert.equal(span.parentSpanId, again.spanId);
  assert.equal(span.attributes['mg.outcome'], 'duplicate');
  assert.equal(span.attributes['http.response.status_code'], 200);
});

test('a traced message still queued at shutdown: its spans are ended as not delivered and exported', async (t) => {
  const otlp = await startOtlpReceiver(t);
  const port = await freePort(); // no server: the message stays queued
  const setup = await clientSetup(t, `http://127.0.0.1:${port}`, {
    extra: { telemetry: telemetryConfig(otlp.url, 'http_binary', 'c') },
  });
  const client = await runClient(t, setup.cfg);
  const src = await source(t, 'dealer', setup.endpoint);
  const ctx = sourceContext();
  await src.send(enc.encode('cam'), tracedMessage('cam', { traceparent: ctx.traceparent }), [], false);
  await waitUntil(() => client.stats().retries >= 1, 'a failed attempt');
  await client.stop({ drainTimeoutMs: 0 });
  const forward = otlp.spans.find((x) => x.traceId === ctx.traceId && x.name === 'mg.client.forward');
  assert.ok(forward, `spans exported at stop: ${otlp.spans.map((s) => s.name).join(', ')}`);
  assert.equal(forward.status.code, 2);
  assert.equal(forward.status.message, 'not delivered before shutdown');
  assert.ok(otlp.spans.some((x) => x.traceId === ctx.traceId && x.name === 'mg.client.queue'));
});
