// The OpenTelemetry SDK as both halves use it: one tracer provider per process half, spans exported over
// OTLP/HTTP (protobuf or JSON) by a batch span processor with a bounded queue, so an exporter that is slow,
// down or hanging costs dropped spans, never a delayed message. Loaded only when a `telemetry` section is
// configured (src/client/pipeline.ts, src/server/gateway.ts import it dynamically).
import { readFileSync } from 'node:fs';
import {
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TelemetryConfig } from '../config/index.js';
import { telemetrySpansDroppedTotal } from '../metrics/index.js';
import { logger } from '../util/index.js';
import { packageVersion } from '../util/version.js';

const log = logger('media_gateway::telemetry');

/** Spans waiting for export; beyond this the processor drops new ones (bounded memory). */
export const MAX_QUEUED_SPANS = 4096;
export const MAX_EXPORT_BATCH = 512;
/** How often queued spans are exported (a full batch goes at once). */
export const EXPORT_INTERVAL_MS = 500;
/**
 * Longest attribute string a span keeps (longer ones are cut). Topics and routing labels come from the
 * peer: without a cap one traced message with a 60 MiB routing label would keep 60 MiB alive in each of
 * the MAX_QUEUED_SPANS queued spans and in every export. Arrays are capped per element; their element
 * count is already bounded by limits.max_routing_labels.
 */
export const MAX_ATTRIBUTE_CHARS = 1024;
/** Between two log lines about failed exports. */
const EXPORT_FAILURE_LOG_MS = 60_000;

export interface Tracing {
  tracer: Tracer;
  /** the configured format, for propagated_context and the POST / headers */
  propagator: TextMapPropagator;
  /** a remote parent from a text-map carrier when it is valid and sampled, else undefined */
  sampledParent(carrier: Record<string, string>, propagator?: TextMapPropagator): Context | undefined;
  /** exports what is queued (bounded by the tracer timeout) and stops */
  shutdown(): Promise<void>;
}

export function propagatorFor(format: TelemetryConfig['format']): TextMapPropagator {
  return format === 'jaeger' ? new JaegerPropagator() : new W3CTraceContextPropagator();
}

export async function startTracing(cfg: TelemetryConfig, side: 'client' | 'server'): Promise<Tracing> {
  const exporter = new LoggingExporter(await createExporter(cfg.tracer));
  const queue = new CountedQueue(
    new BatchSpanProcessor(exporter, {
      maxQueueSize: MAX_QUEUED_SPANS,
      maxExportBatchSize: MAX_EXPORT_BATCH,
      scheduledDelayMillis: EXPORT_INTERVAL_MS,
      exportTimeoutMillis: cfg.tracer.timeoutMs,
    }),
  );
  exporter.onTaken = (n) => queue.taken(n);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': cfg.tracer.serviceName,
      'service.version': packageVersion(),
      'media_gateway.side': side,
    }),
    // Remote parents decide (their sampled flag, then our ratio by trace id, so that both halves keep the
    // same traces); root spans (refused connections) are always recorded, their rate is limited by caller.
    sampler: new ParentBasedSampler({
      root: new AlwaysOnSampler(),
      remoteParentSampled: new TraceIdRatioBasedSampler(cfg.sampling.ratio),
      remoteParentNotSampled: new AlwaysOffSampler(),
    }),
    spanLimits: { attributeValueLengthLimit: MAX_ATTRIBUTE_CHARS, attributeCountLimit: 32 },
    spanProcessors: [queue],
  });
  const tracer = provider.getTracer('media-gateway', packageVersion());
  const propagator = propagatorFor(cfg.format);
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    propagator,
    sampledParent(carrier, p = propagator) {
      const ctx = p.extract(ROOT_CONTEXT, carrier, GETTER);
      const sc = trace.getSpanContext(ctx);
      if (!sc || !isSpanContextValid(sc) || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
      return ctx;
    },
    shutdown() {
      stopped ??= boundedShutdown(provider, cfg.tracer.timeoutMs);
      return stopped;
    },
  };
}

/** Reads a plain-object carrier (propagated_context, or Node's lower-cased request headers). */
export const GETTER = {
  keys: (c: Record<string, unknown>) => Object.keys(c),
  get: (c: Record<string, unknown>, key: string) => {
    const v = c[key];
    return typeof v === 'string' || Array.isArray(v) ? (v as string | string[]) : undefined;
  },
};

export const SETTER = {
  set: (c: Record<string, string>, key: string, value: string) => {
    c[key] = value;
  },
};

async function createExporter(tracer: TelemetryConfig['tracer']): Promise<SpanExporter> {
  const tls = tracer.tls;
  const httpAgentOptions = tls
    ? {
        keepAlive: true,
        ...(tls.certificate ? { ca: readFileSync(tls.certificate) } : {}),
        ...(tls.identity
          ? { cert: readFileSync(tls.identity.certificate), key: readFileSync(tls.identity.key) }
          : {}),
      }
    : undefined;
  const options = { url: tracer.endpoint, timeoutMillis: tracer.timeoutMs, httpAgentOptions };
  // loaded per protocol: only one exporter stack is ever in memory
  const { OTLPTraceExporter } =
    tracer.protocol === 'http_json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter(options);
}

/** Logs failed exports at most once a minute (with how many failed meanwhile); never blocks or throws. */
class LoggingExporter implements SpanExporter {
  private failures = 0;
  private lastLog = 0;
  /** told how many spans left the processor's queue for this export */
  onTaken: (spans: number) => void = () => undefined;

  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.onTaken(spans.length);
    this.inner.export(spans, (result) => {
      if (result.code !== 0) {
        telemetrySpansDroppedTotal.inc({ reason: 'export_failed' }, spans.length);
        this.failed(spans.length, result.error);
      }
      done(result);
    });
  }

  private failed(spans: number, error: Error | undefined): void {
    this.failures++;
    const now = Date.now();
    if (now - this.lastLog < EXPORT_FAILURE_LOG_MS) return;
    this.lastLog = now;
    log.warn(
      { spans, failedExports: this.failures, err: error?.message },
      'cannot export spans to the OpenTelemetry collector; they are dropped (forwarding is not affected)',
    );
    this.failures = 0;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * The batch processor drops spans silently once MAX_QUEUED_SPANS wait for export; this wrapper keeps the same
 * count (ended minus handed to the exporter) and drops them itself first, so each one is counted.
 */
class CountedQueue implements SpanProcessor {
  private queued = 0;

  constructor(private readonly inner: BatchSpanProcessor) {}

  taken(spans: number): void {
    this.queued = Math.max(0, this.queued - spans);
  }

  onStart(span: Span, parent: Context): void {
    this.inner.onStart(span, parent);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return; // the processor skips them too
    if (this.queued >= MAX_QUEUED_SPANS) {
      telemetrySpansDroppedTotal.inc({ reason: 'queue_full' });
      return;
    }
    this.queued++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

async function boundedShutdown(provider: BasicTracerProvider, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  try {
    await Promise.race([provider.shutdown().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
