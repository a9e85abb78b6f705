// The trace context of each item of a POST /batch, in one header the original server ignores (it reads
// only Content-Type and Authorization), like the message ids of src/spool/identity.ts:
// `x-media-gateway-trace-contexts: <entry>,<entry>,...`, one entry per body item in body order. An entry is
// empty for an item without a trace, else 34 base64url characters: trace id (16 bytes), span id (8), trace
// flags (1) of the client's mg.client.forward span. The trace state is not repeated here: the server takes
// it from the message's own propagated_context when the trace ids match. The header stays under
// MAX_HEADER_BYTES (Node refuses requests over 16 KiB of headers): entries past that budget are left empty,
// and the server then parents those items on the message's own context (same trace, one level up).
import { isSpanContextValid, ROOT_CONTEXT, trace, type Context, type SpanContext } from '@opentelemetry/api';

export const TRACE_CONTEXTS_HEADER = 'x-media-gateway-trace-contexts';
/** Budget of the header value. */
export const MAX_HEADER_BYTES = 8192;
const ENTRY_BYTES = 25;
const ENTRY_CHARS = 34;

export function encodeEntry(sc: SpanContext): string {
  const b = Buffer.alloc(ENTRY_BYTES);
  b.write(sc.traceId, 0, 16, 'hex');
  b.write(sc.spanId, 16, 8, 'hex');
  b[24] = sc.traceFlags & 0xff;
  return b.toString('base64url');
}

/** Joins entries (undefined = no trace), emptying those past the budget. */
export function formatTraceContexts(entries: (string | undefined)[]): string {
  let size = 0;
  return entries
    .map((e) => {
      if (e === undefined || size + e.length + 1 > MAX_HEADER_BYTES) return '';
      size += e.length + 1;
      return e;
    })
    .join(',');
}

/** The entries of the header when it names exactly `items` items; undefined otherwise (ignored). */
export function splitTraceContexts(
  header: string | string[] | undefined,
  items: number,
): string[] | undefined {
  if (typeof header !== 'string' || header.length > MAX_HEADER_BYTES + items) return undefined;
  const entries = header.split(',');
  return entries.length === items ? entries : undefined;
}

/** A remote parent from one entry, or undefined when empty or malformed. */
export function decodeEntry(entry: string): Context | undefined {
  if (entry.length !== ENTRY_CHARS || !/^[A-Za-z0-9_-]+$/.test(entry)) return undefined;
  const b = Buffer.from(entry, 'base64url');
  const sc: SpanContext = {
    traceId: b.toString('hex', 0, 16),
    spanId: b.toString('hex', 16, 24),
    traceFlags: b[24],
    isRemote: true,
  };
  return isSpanContextValid(sc) ? trace.setSpanContext(ROOT_CONTEXT, sc) : undefined;
}
