// Client-side tracing, wrapped around the sender (src/client/sender.ts) rather than flagged inside it: a
// message read with a valid, sampled context in its propagated_context gets `mg.client.queue` (read →
// first request) and `mg.client.forward` (first request → delivered or dead-lettered) with one `attempt`
// event per request it was part of (number, result). Its context reaches the server in the POST /
// standard headers (traceparent/tracestate or uber-trace-id), and for POST /batch in one entry of
// x-media-gateway-trace-contexts (./item-contexts.ts). Messages without such a context cost one scan of
// their top-level tags (no allocation) and are otherwise untouched.
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import type { TelemetryConfig } from '../config/index.js';
import { parseBatchReply } from '../contract/batch-reply.js';
import { errorCode, type PostOutcome } from '../client/http.js';
import type { Completion, Outgoing, Sender, SenderOptions } from '../client/index.js';
import { hasPropagatedContext, readPropagatedContext } from '../savant/propagated-context.js';
import { encodeEntry, formatTraceContexts, TRACE_CONTEXTS_HEADER } from './item-contexts.js';
import { SETTER, startTracing, type Tracing } from './tracing.js';

interface Traced {
  parent: Context;
  queue?: Span;
  forward?: Span;
  attempts: number;
}

/** The traced items of one request, in body order (index into the body), with their attempt numbers. */
interface Attempt {
  /** items in the request body */
  size: number;
  positions: number[];
  states: Traced[];
  numbers: number[];
}

export interface ClientTracing {
  /** the sender with tracing wrapped around its hooks and push() */
  traced(make: (opts: SenderOptions) => Sender, opts: SenderOptions): Sender;
  shutdown(): Promise<void>;
}

export async function startClientTracing(cfg: TelemetryConfig): Promise<ClientTracing> {
  const tracing = await startTracing(cfg, 'client');
  const senders: SenderTracing[] = [];
  return {
    traced: (make, opts) => {
      const s = new SenderTracing(tracing);
      senders.push(s);
      return s.wrap(make, opts);
    },
    shutdown: () => {
      for (const s of senders) s.abandon();
      return tracing.shutdown();
    },
  };
}

const utf8 = new TextDecoder();

class SenderTracing {
  /**
   * Items still in the sender: a Map (not weak) so that shutdown can end their spans. Bounded by the
   * sender's queues: every pushed item leaves them through onComplete (delivered or dead-lettered).
   */
  private readonly items = new Map<Outgoing, Traced>();
  private readonly attempts = new WeakMap<Record<string, string>, Attempt>();

  constructor(private readonly t: Tracing) {}

  wrap(make: (opts: SenderOptions) => Sender, opts: SenderOptions): Sender {
    const identify = opts.identify;
    const post = opts.http.post.bind(opts.http);
    const onComplete = opts.onComplete;
    const sender = make({
      ...opts,
      identify: (items) => this.identify(items, identify?.(items)),
      http: {
        post: async (target, body, signal, headers, lane) => {
          const outcome = await post(target, body, signal, headers, lane);
          const attempt = headers && this.attempts.get(headers);
          if (attempt) this.record(attempt, target, outcome);
          return outcome;
        },
      },
      onComplete: (c) => {
        this.completed(c);
        return onComplete(c);
      },
    });
    const push = sender.push.bind(sender);
    sender.push = (item) => {
      this.queued(item);
      push(item);
    };
    return sender;
  }

  private queued(item: Outgoing): void {
    const message = item.media.message;
    if (!message || !hasPropagatedContext(message)) return;
    let parent: Context | undefined;
    try {
      parent = this.t.sampledParent(readPropagatedContext(message));
    } catch {
      return; // malformed: the server will refuse it; nothing to trace
    }
    if (!parent) return;
    const queue = this.t.tracer.startSpan(
      'mg.client.queue',
      { kind: SpanKind.INTERNAL, attributes: { 'mg.topic': utf8.decode(item.topic) } },
      parent,
    );
    if (!queue.isRecording()) return; // our sampling ratio said no
    this.items.set(item, { parent, queue, attempts: 0 });
  }

  /** A request is about to go out with `items`: starts their attempts and adds their contexts. */
  private identify(
    items: readonly Outgoing[],
    base: Record<string, string> | undefined,
  ): Record<string, string> | undefined {
    let attempt: Attempt | undefined;
    for (let i = 0; i < items.length; i++) {
      const state = this.items.get(items[i]);
      if (!state) continue;
      attempt ??= { size: items.length, positions: [], states: [], numbers: [] };
      this.begin(state, items[i]);
      attempt.positions.push(i);
      attempt.states.push(state);
      attempt.numbers.push(++state.attempts);
    }
    if (!attempt) return base;
    const headers: Record<string, string> = { ...base };
    const entries: (string | undefined)[] = new Array<string | undefined>(items.length);
    attempt.states.forEach((s, k) => (entries[attempt.positions[k]] = encodeEntry(s.forward!.spanContext())));
    headers[TRACE_CONTEXTS_HEADER] = formatTraceContexts(entries);
    // a request of one item may be POST /: the standard headers, in the configured format
    if (items.length === 1) {
      this.t.propagator.inject(trace.setSpan(ROOT_CONTEXT, attempt.states[0].forward!), headers, SETTER);
    }
    this.attempts.set(headers, attempt);
    return headers;
  }

  private begin(state: Traced, item: Outgoing): void {
    if (state.queue) {
      state.queue.end();
      state.queue = undefined;
    }
    state.forward ??= this.t.tracer.startSpan(
      'mg.client.forward',
      { kind: SpanKind.CLIENT, attributes: { 'mg.topic': utf8.decode(item.topic) } },
      state.parent,
    );
  }

  private record(attempt: Attempt, target: 'single' | 'batch', outcome: PostOutcome): void {
    const reply =
      outcome.kind === 'response' && outcome.status === 200 && target === 'batch'
        ? parseBatchReply(outcome.body, attempt.size)
        : undefined;
    attempt.states.forEach((state, k) => {
      state.forward?.addEvent('attempt', {
        'mg.attempt.number': attempt.numbers[k],
        'mg.attempt.result': resultOf(outcome, target, reply, attempt.positions[k]),
      });
    });
  }

  /** Shutdown with items still queued: their spans end as not delivered, so the exporter still sends them. */
  abandon(): void {
    for (const state of this.items.values()) {
      const span = state.forward ?? state.queue!;
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'not delivered before shutdown' });
      state.queue?.end();
      state.forward?.end();
    }
    this.items.clear();
  }

  private completed(c: Completion): void {
    const state = this.items.get(c.item);
    if (!state) return;
    this.items.delete(c.item);
    state.queue?.end();
    const span = state.forward ?? state.queue;
    if (!span) return;
    if (c.outcome === 'delivered') span.setStatus({ code: SpanStatusCode.OK });
    else {
      span.setAttribute('mg.dead_letter.status', c.status);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered (HTTP ${c.status})` });
    }
    state.forward?.end();
  }
}

/** What one request did for the item at `position` of its body. */
function resultOf(
  outcome: PostOutcome,
  target: 'single' | 'batch',
  reply: { accepted: number; status: number } | undefined,
  position: number,
): string {
  if (outcome.kind === 'transport_error') return `transport_error ${errorCode(outcome.error)}`;
  if (outcome.status !== 200) return `http ${outcome.status}`;
  if (target === 'single') return 'delivered';
  if (!reply) return 'bad response';
  if (position < reply.accepted) return 'delivered';
  if (position === reply.accepted) return `http ${reply.status}`;
  return 'not attempted';
}
