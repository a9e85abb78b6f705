// OpenTelemetry tracing end to end: a Savant source → client → server → sink chain on loopback with the
// exporters sending to an OTLP receiver in this process (./otlp-receiver.ts decodes their real payloads),
// for each supported protocol and both request forms.
import assert from 'node:assert/strict';
import test from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { buildMessage } from '../../src/savant/message.js';
import { readPropagatedContext } from '../../src/savant/propagated-context.js';
import { startChain } from '../e2e/chain.js';
import { nextMessage } from '../server/fixtures.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { sourceContext, telemetryConfig, tracedMessage } from './fixtures.js';

const enc = new TextEncoder();

const byName = (spans: ReceivedSpan[], traceId: string, name: string) =>
  spans.filter((s) => s.traceId === traceId && s.name === name);

/** Waits for one server store and one client forward span of the trace: each half exports on its own schedule. */
const bothHalves = (otlp: OtlpReceiver, traceId: string, what: string): Promise<void> =>
  otlp.waitFor(
    (s) =>
      byName(s, traceId, 'mg.server.store').length === 1 &&
      byName(s, traceId, 'mg.client.forward').length === 1,
    what,
  );

for (const protocol of ['http_binary', 'http_json'] as const) {
  for (const mode of ['single', 'batch'] as const) {
    test(`${protocol}, ${mode}: one trace from the source context through client and server to the sink; untraced messages byte for byte`, async (t) => {
      const otlp = await startOtlpReceiver(t);
      const chain = await startChain(t, {
        source: 'dealer',
        sink: 'dealer',
        transport: { mode, lanes: 1 },
        client: { telemetry: telemetryConfig(otlp.url, protocol, 'mg-client') },
        server: { telemetry: telemetryConfig(otlp.url, protocol, 'mg-server') },
      });
      const src = sourceContext();
      const unsampled = sourceContext(false);
      const traced = tracedMessage('cam-1', {
        traceparent: src.traceparent,
        tracestate: 'vendor=abc',
        other: 'kept',
      });
      const plain = buildMessage({ content: 'video_frame', sourceId: 'cam-1' });
      const notSampled = tracedMessage('cam-1', { traceparent: unsampled.traceparent });
      for (const m of [traced, plain, notSampled]) {
        const r = await chain.source.send(enc.encode('cam-1'), m, [enc.encode('frame')], false);
        assert.equal(r.kind, 'success');
      }
      const got = [
        await nextMessage(chain.sink),
        await nextMessage(chain.sink),
        await nextMessage(chain.sink),
      ];
      // untraced messages: byte for byte
      assert.deepEqual(Buffer.from(got[1].message), Buffer.from(plain));
      assert.deepEqual(Buffer.from(got[2].message), Buffer.from(notSampled));

      await bothHalves(otlp, src.traceId, 'the client and server spans');
      const queue = byName(otlp.spans, src.traceId, 'mg.client.queue');
      const forward = byName(otlp.spans, src.traceId, 'mg.client.forward');
      const store = byName(otlp.spans, src.traceId, 'mg.server.store');
      assert.equal(queue.length, 1);
      assert.equal(queue[0].parentSpanId, src.spanId, 'queue continues the source context');
      assert.equal(forward[0].parentSpanId, src.spanId, 'forward continues the source context');
      assert.equal(
        store[0].parentSpanId,
        forward[0].spanId,
        'the server span is a child of the forward span',
      );
      assert.equal(forward[0].service, 'mg-client');
      assert.equal(store[0].service, 'mg-server');
      assert.equal(store[0].status.code, 1);
      assert.equal(store[0].attributes['mg.topic'], 'cam-1');
      assert.equal(store[0].attributes['mg.outcome'], 'forwarded');
      assert.deepEqual(
        forward[0].events.map((e) => e.attributes),
        [{ 'mg.attempt.number': 1, 'mg.attempt.result': 'delivered' }],
      );
      // the sink sees the server span as the parent; the rest of the map and the trace state stay
      const carrier = readPropagatedContext(got[0].message);
      assert.equal(carrier.traceparent, `00-${src.traceId}-${store[0].spanId}-01`);
      assert.equal(carrier.tracestate, 'vendor=abc');
      assert.equal(carrier.other, 'kept');
      // no span at all for the unsampled trace
      assert.equal(otlp.spans.filter((s) => s.traceId === unsampled.traceId).length, 0);
      assert.ok(
        otlp.requests.every(
          (type) => type === (protocol === 'http_json' ? 'application/json' : 'application/x-protobuf'),
        ),
      );
    });
  }
}

for (const mode of ['single', 'batch'] as const) {
  test(`jaeger format, ${mode}: uber-trace-id in propagated_context is continued and rewritten in the same format`, async (t) => {
    const otlp = await startOtlpReceiver(t);
    const jaeger = { format: 'jaeger' as const };
    const chain = await startChain(t, {
      source: 'dealer',
      sink: 'dealer',
      transport: { mode, lanes: 1 },
      client: { telemetry: telemetryConfig(otlp.url, 'http_binary', 'c', jaeger) },
      server: { telemetry: telemetryConfig(otlp.url, 'http_binary', 's', jaeger) },
    });
    const src = sourceContext();
    const message = tracedMessage('cam', { 'uber-trace-id': `${src.traceId}:${src.spanId}:0:1` });
    await chain.source.send(enc.encode('cam'), message, [], false);
    const got = await nextMessage(chain.sink);
    // the client exports its spans on its own schedule: the server's span can arrive first
    await bothHalves(otlp, src.traceId, 'the client and server spans');
    const forward = byName(otlp.spans, src.traceId, 'mg.client.forward')[0];
    const store = byName(otlp.spans, src.traceId, 'mg.server.store')[0];
    assert.equal(forward.parentSpanId, src.spanId);
    assert.equal(store.parentSpanId, forward.spanId);
    const carrier = readPropagatedContext(got.message);
    assert.equal(carrier['uber-trace-id'], `${src.traceId}:${store.spanId}:0:01`);
    assert.equal(carrier.traceparent, undefined);
  });
}

test('sampling.ratio 0.5: both halves keep the same traces, chosen by trace id; a dropped trace is forwarded byte for byte', async (t) => {
  const otlp = await startOtlpReceiver(t);
  const sampling = { sampling: { ratio: 0.5, rejectionsPerMinute: 60 } };
  const chain = await startChain(t, {
    source: 'dealer',
    sink: 'dealer',
    transport: { mode: 'single', lanes: 1 },
    client: { telemetry: telemetryConfig(otlp.url, 'http_binary', 'c', sampling) },
    server: { telemetry: telemetryConfig(otlp.url, 'http_binary', 's', sampling) },
  });
  // the SDK's own verdict for a trace id at this ratio picks one kept and one dropped source context
  const ratio = new TraceIdRatioBasedSampler(0.5);
  const verdict = (traceId: string) =>
    ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
  let kept = sourceContext();
  while (!verdict(kept.traceId)) kept = sourceContext();
  let dropped = sourceContext();
  while (verdict(dropped.traceId)) dropped = sourceContext();

  const messages = [kept, dropped].map((c) => tracedMessage('cam', { traceparent: c.traceparent }));
  for (const m of messages)
    assert.equal((await chain.source.send(enc.encode('cam'), m, [], false)).kind, 'success');
  const got = [await nextMessage(chain.sink), await nextMessage(chain.sink)];
  assert.deepEqual(Buffer.from(got[1].message), Buffer.from(messages[1]));

  await bothHalves(otlp, kept.traceId, 'the kept trace');
  const store = byName(otlp.spans, kept.traceId, 'mg.server.store')[0];
  assert.equal(readPropagatedContext(got[0].message).traceparent, `00-${kept.traceId}-${store.spanId}-01`);
  // one more traced message through both halves, so an export after the dropped one has happened
  let last = sourceContext();
  while (!verdict(last.traceId)) last = sourceContext();
  await chain.source.send(
    enc.encode('cam'),
    tracedMessage('cam', { traceparent: last.traceparent }),
    [],
    false,
  );
  await nextMessage(chain.sink);
  // both halves' exports of the last trace, so a span of the dropped one from either would be here by now
  await bothHalves(otlp, last.traceId, 'the last trace');
  assert.equal(otlp.spans.filter((s) => s.traceId === dropped.traceId).length, 0);
});
