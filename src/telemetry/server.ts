// Server-side tracing, handed to src/server/forward.ts as one observer per item (ItemTrace) only while a
// `telemetry` section is configured. An item continues the context the client sent for it (POST /: the
// standard headers, W3C or Jaeger; POST /batch: its entry of x-media-gateway-trace-contexts), else the
// context in its own propagated_context, with a `mg.server.store` span: the outcome as status, the
// authenticated identity, routing labels and topic as attributes. A traced message leaves for ZeroMQ with
// its propagated_context rewritten to name this span as parent; every other message is forwarded as it
// came, byte for byte. Refused connections and requests (TLS, credentials) become `mg.server.rejected`
// root spans, at most sampling.rejections_per_minute of them.
import type { IncomingHttpHeaders } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import type { TelemetryConfig } from '../config/index.js';
import type { MessageInfo } from '../savant/index.js';
import {
  hasPropagatedContext,
  readPropagatedContext,
  replacePropagatedContext,
} from '../savant/propagated-context.js';
import type { ForwardResult, Grant, ItemTrace } from '../server/index.js';
import { decodeEntry, splitTraceContexts, TRACE_CONTEXTS_HEADER } from './item-contexts.js';
import { GETTER, SETTER, startTracing, type Tracing } from './tracing.js';

export interface Rejection {
  /** tls_handshake, tls_peer, basic_auth, certificate_identity */
  kind: string;
  reason: string;
  status?: number;
  address?: string;
}

export interface ServerTracing {
  /** the observers of the items of one request (undefined: nothing to trace for that item) */
  items(
    /** the request's headers, or a stream batch's meta block (src/server/stream.ts) */
    headers: IncomingHttpHeaders,
    count: number,
    target: 'single' | 'batch',
  ): (i: number) => ItemTrace | undefined;
  rejected(r: Rejection): void;
  shutdown(): Promise<void>;
}

export async function startServerTracing(cfg: TelemetryConfig): Promise<ServerTracing> {
  return new ServerTracer(await startTracing(cfg, 'server'), cfg.sampling.rejectionsPerMinute);
}

const utf8 = new TextDecoder();
/** POST / headers are read in either format, so a client configured differently is still continued. */
const HEADERS = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new JaegerPropagator()],
});

class ServerTracer implements ServerTracing {
  /** items whose request named no context: shared, so an untraced item allocates nothing */
  private readonly fromMessage: ItemTrace;
  private readonly rejections: TokenBucket;
  private suppressed = 0;

  constructor(
    private readonly t: Tracing,
    rejectionsPerMinute: number,
  ) {
    this.rejections = new TokenBucket(rejectionsPerMinute, 60_000);
    this.fromMessage = {
      accepted: (topic, message, info, grants) => {
        if (!hasPropagatedContext(message)) return undefined;
        const carrier = this.carrierOf(message);
        const parent = carrier && this.t.sampledParent(carrier);
        return parent ? this.store(parent, carrier, topic, message, info, grants) : undefined;
      },
      refused: () => undefined,
    };
  }

  items(
    headers: IncomingHttpHeaders,
    count: number,
    target: 'single' | 'batch',
  ): (i: number) => ItemTrace | undefined {
    if (target === 'single') {
      const parent = this.t.sampledParent(headers as Record<string, string>, HEADERS);
      const item = parent ? this.fromParent(parent) : this.fromMessage;
      return () => item;
    }
    const entries = splitTraceContexts(headers[TRACE_CONTEXTS_HEADER], count);
    if (!entries) return () => this.fromMessage;
    return (i) => {
      const parent = entries[i] === '' ? undefined : decodeEntry(entries[i]);
      return parent ? this.fromParent(parent) : this.fromMessage;
    };
  }

  /** An item whose context came with the request: traced even when it is refused before it validates. */
  private fromParent(parent: Context): ItemTrace {
    return {
      accepted: (topic, message, info, grants) => {
        const carrier = hasPropagatedContext(message) ? this.carrierOf(message) : undefined;
        return this.store(
          withTraceState(parent, carrier, this.t),
          carrier ?? {},
          topic,
          message,
          info,
          grants,
        );
      },
      refused: (result) => {
        const span = this.t.tracer.startSpan('mg.server.store', { kind: SpanKind.SERVER }, parent);
        end(span, result);
      },
    };
  }

  private carrierOf(message: Uint8Array): Record<string, string> | undefined {
    try {
      return readPropagatedContext(message);
    } catch {
      return undefined; // the decoder of forward.ts accepted it; a map entry it does not read is not ours to fix
    }
  }

  private store(
    parent: Context,
    carrier: Record<string, string>,
    topic: Uint8Array,
    message: Uint8Array,
    info: MessageInfo,
    grants: Grant[],
  ): { message: Uint8Array; finished(result: ForwardResult): void } | undefined {
    const attributes: Attributes = {
      'mg.topic': utf8.decode(topic),
      'mg.routing_labels': info.routingLabels,
    };
    if (grants.length > 0) attributes['enduser.id'] = grants.map((g) => g.user).join(',');
    const span = this.t.tracer.startSpan('mg.server.store', { kind: SpanKind.SERVER, attributes }, parent);
    if (!span.isRecording()) return undefined; // our sampling ratio said no: forwarded untouched
    const rewritten = { ...carrier };
    for (const key of this.t.propagator.fields()) delete rewritten[key];
    this.t.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), rewritten, SETTER);
    return {
      message: replacePropagatedContext(message, rewritten),
      finished: (result) => end(span, result),
    };
  }

  rejected(r: Rejection): void {
    if (!this.rejections.take()) {
      this.suppressed++;
      return;
    }
    const attributes: Attributes = { 'mg.rejection': r.kind, 'error.type': r.reason };
    if (r.status !== undefined) attributes['http.response.status_code'] = r.status;
    if (r.address) attributes['client.address'] = r.address;
    if (this.suppressed > 0) attributes['mg.rejections_suppressed'] = this.suppressed;
    this.suppressed = 0;
    const span = this.t.tracer.startSpan(
      'mg.server.rejected',
      { kind: SpanKind.SERVER, attributes },
      ROOT_CONTEXT,
    );
    span.setStatus({ code: SpanStatusCode.ERROR, message: r.reason });
    span.end();
  }

  shutdown(): Promise<void> {
    return this.t.shutdown();
  }
}

function end(span: Span, result: ForwardResult): void {
  span.setAttribute('mg.outcome', result.code);
  span.setAttribute('http.response.status_code', result.status);
  if (result.status === 200) span.setStatus({ code: SpanStatusCode.OK });
  else span.setStatus({ code: SpanStatusCode.ERROR, message: result.description });
  span.end();
}

/**
 * The batch header does not repeat the trace state (./item-contexts.ts): it is taken from the message's
 * own context when that names the same trace, so vendors' state still reaches downstream modules.
 */
function withTraceState(parent: Context, carrier: Record<string, string> | undefined, t: Tracing): Context {
  const sc = trace.getSpanContext(parent);
  if (!carrier || !sc || sc.traceState) return parent;
  const own = trace.getSpanContext(t.propagator.extract(ROOT_CONTEXT, carrier, GETTER));
  if (!own?.traceState || own.traceId !== sc.traceId) return parent;
  return trace.setSpanContext(ROOT_CONTEXT, { ...sc, traceState: own.traceState });
}

/** `capacity` tokens per `periodMs`, refilled continuously. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly capacity: number,
    private readonly periodMs: number,
  ) {
    this.tokens = capacity;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.capacity) / this.periodMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
