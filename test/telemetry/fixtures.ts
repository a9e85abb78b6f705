// Shared pieces of the tracing tests: a telemetry section pointing at the in-process receiver, a traced
// server in front of a sink, source trace contexts and messages that carry them.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { TelemetryConfig } from '../../src/config/types.js';
import { buildMessage } from '../../src/savant/message.js';
import { replacePropagatedContext } from '../../src/savant/propagated-context.js';
import { gateway, serverConfig, sink, tcp, writerConfig } from '../server/fixtures.js';
import { startOtlpReceiver } from './otlp-receiver.js';

export function telemetryConfig(
  endpoint: string,
  protocol: TelemetryConfig['tracer']['protocol'],
  service: string,
  over: Partial<TelemetryConfig> = {},
): TelemetryConfig {
  return {
    format: 'w3c',
    tracer: { serviceName: service, protocol, endpoint, timeoutMs: 2000 },
    sampling: { ratio: 1, rejectionsPerMinute: 60 },
    ...over,
  };
}

/** A source context: a fresh trace id and span id, sampled or not. */
export function sourceContext(sampled = true): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

export function tracedMessage(topic: string, carrier: Record<string, string>): Uint8Array {
  return replacePropagatedContext(buildMessage({ content: 'video_frame', sourceId: topic }), carrier);
}

/** A server exporting to an in-process OTLP receiver (protobuf), writing to a ZeroMQ sink. */
export async function tracedGateway(t: TestContext) {
  const otlp = await startOtlpReceiver(t);
  const ep = await tcp();
  const reader = await sink(t, `router+bind:${ep}`);
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+connect:${ep}`), {
      telemetry: telemetryConfig(otlp.url, 'http_binary', 's'),
    }),
  );
  return { otlp, reader, server };
}
