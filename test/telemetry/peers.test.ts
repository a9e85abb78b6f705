// Tracing next to peers that do not trace: a traced client in front of a server with the original's wire form
// (POST / only, /batch answers 404, trace headers unknown to it), and a server with telemetry off in front of
// requests that carry every trace header. Neither peer's messages may change by a byte.
import assert from 'node:assert/strict';
import test from 'node:test';
import { encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { encodeEntry, TRACE_CONTEXTS_HEADER } from '../../src/telemetry/item-contexts.js';
import { clientSetup, runClient, source } from '../client/fixtures.js';
import { HttpSink } from '../helpers/http-sink.js';
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
import { startOtlpReceiver } from './otlp-receiver.js';
import { sourceContext, telemetryConfig, tracedMessage } from './fixtures.js';

const enc = new TextEncoder();

test('a traced client and a server without /batch (the original): POST / with traceparent, messages byte for byte', async (t) => {
  const otlp = await startOtlpReceiver(t);
  // stands in for the original server: only POST /, a 404 for /batch (test/helpers/http-sink.ts)
  const original = await HttpSink.start({ batch: false });
  t.after(() => original.close());
  const { cfg, endpoint } = await clientSetup(t, original.url, {
    transport: { mode: 'auto' },
    extra: { telemetry: telemetryConfig(otlp.url, 'http_json', 'c') },
  });
  await runClient(t, cfg);
  const src = await source(t, 'dealer', endpoint);
  const contexts = [sourceContext(), sourceContext()];
  const sent = [
    tracedMessage('cam', { traceparent: contexts[0].traceparent, other: 'kept' }),
    buildMessage({ content: 'video_frame', sourceId: 'cam' }),
    tracedMessage('cam', { traceparent: contexts[1].traceparent }),
  ];
  for (const m of sent) assert.equal((await src.send(enc.encode('cam'), m, [], false)).kind, 'success');

  const accepted = await original.waitForAccepted(3);
  assert.ok(accepted.every((item) => item.path === '/'));
  // the client reads the context but never rewrites a message: what the source sent arrives
  accepted.forEach((item, i) => assert.deepEqual(Buffer.from(item.media.message!), Buffer.from(sent[i])));
  assert.equal(accepted[1].headers.traceparent, undefined, 'an untraced message gets no trace header');

  await otlp.waitFor(
    (s) => contexts.every((c) => s.some((x) => x.traceId === c.traceId && x.name === 'mg.client.forward')),
    'both forward spans',
  );
  for (const [i, c] of [
    [0, contexts[0]],
    [2, contexts[1]],
  ] as const) {
    const forward = otlp.spans.find((x) => x.traceId === c.traceId && x.name === 'mg.client.forward')!;
    assert.equal(forward.parentSpanId, c.spanId);
    // POST / names the forward span in the standard W3C header, as the original client's next version does
    assert.equal(accepted[i].headers.traceparent, `00-${c.traceId}-${forward.spanId}-01`);
    assert.equal(forward.events.at(-1)!.attributes['mg.attempt.result'], 'delivered');
    assert.equal(forward.status.code, 1);
  }
});

test('a server with telemetry off ignores every trace header: traced messages forwarded byte for byte', async (t) => {
  const ep = await tcp();
  const reader = await sink(t, `router+bind:${ep}`);
  const server = await gateway(t, serverConfig(writerConfig(`dealer+connect:${ep}`)));
  const ctx = sourceContext();
  const single = tracedMessage('cam', { traceparent: ctx.traceparent, tracestate: 'vendor=abc' });
  const got = nextMessage(reader);
  const res = await post(
    server.url + '/',
    encodeMedia({ message: single, topic: enc.encode('cam'), data: [] }),
    {
      ...PROTOBUF,
      traceparent: sourceContext().traceparent,
    },
  );
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from((await got).message), Buffer.from(single));

  const items = [sourceContext(), sourceContext()].map((c) =>
    tracedMessage('cam', { traceparent: c.traceparent }),
  );
  const entry = () => {
    const c = sourceContext();
    return encodeEntry({ traceId: c.traceId, spanId: c.spanId, traceFlags: 1 });
  };
  const received = [nextMessage(reader), nextMessage(reader)];
  const batch = await post(
    server.url + '/batch',
    encodeMediaBatch(items.map((m) => encodeMedia({ message: m, topic: enc.encode('cam'), data: [] }))),
    { ...PROTOBUF, [TRACE_CONTEXTS_HEADER]: `${entry()},${entry()}` },
  );
  assert.equal(batch.status, 200);
  const out = await Promise.all(received);
  out.forEach((m, i) => assert.deepEqual(Buffer.from(m.message), Buffer.from(items[i])));
});
