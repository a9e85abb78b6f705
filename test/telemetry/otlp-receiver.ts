// An OTLP/HTTP traces receiver inside the test process: a plain node:http server that decodes what the
// exporters really send. Protobuf bodies are read field by field with the message and field numbers of
// opentelemetry-proto (collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto,
// resource/v1/resource.proto), JSON bodies with the proto3 JSON mapping OTLP/HTTP uses (ids as hex).
// Both become the same ReceivedSpan shape. `hang` makes it accept requests and never answer (a collector
// that hangs); closing it then cuts those connections.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  /** 0 unset, 1 ok, 2 error */
  status: { code: number; message: string };
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** requests received, with their Content-Type */
  requests: string[];
  /** resolves once `pred` holds for the spans received so far (re-checked on each export) */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type T = { after(fn: () => unknown): void };

export async function startOtlpReceiver(
  t: T,
  opts: { hang?: boolean; tls?: { cert: Buffer; key: Buffer } } = {},
): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: string[] = [];
  const waiters = new Set<() => void>();
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      requests.push(type);
      if (opts.hang) return; // never answered
      const body = Buffer.concat(chunks);
      spans.push(...(type.includes('json') ? decodeJson(body) : decodeProtobuf(body)));
      res.writeHead(200, { 'content-type': type }).end(type.includes('json') ? '{}' : '');
      for (const w of waiters) w();
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  t.after(close);
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/v1/traces`,
    spans,
    requests,
    close,
    waitFor(pred, what, timeoutMs = 15_000) {
      if (pred(spans)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; spans: ${spans.map((s) => s.name).join(', ')}`));
        }, timeoutMs);
        const check = () => {
          if (!pred(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
  };
}

// ---- protobuf (opentelemetry-proto field numbers) ----

function fields(b: Uint8Array, fn: (no: number, r: BinaryReader, wt: WireType) => boolean): void {
  const r = new BinaryReader(b);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (!fn(no, r, wt)) r.skip(wt, no);
  }
}

function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  fields(body, (no, r) => {
    if (no !== 1) return false;
    let service = '';
    const scopeSpans: Uint8Array[] = [];
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    fields(r.bytes(), (rno, rr) => {
      if (rno === 1) {
        // Resource { repeated KeyValue attributes = 1; }
        const attrs: Record<string, unknown> = {};
        fields(rr.bytes(), (ano, ar) => (ano === 1 ? (keyValue(ar.bytes(), attrs), true) : false));
        service = String(attrs['service.name'] ?? '');
        return true;
      }
      if (rno === 2) return (scopeSpans.push(rr.bytes()), true);
      return false;
    });
    for (const ss of scopeSpans) {
      // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
      fields(ss, (sno, sr) => (sno === 2 ? (out.push(span(sr.bytes(), service)), true) : false));
    }
    return true;
  });
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function span(b: Uint8Array, service: string): ReceivedSpan {
  const s: ReceivedSpan = {
    service,
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    attributes: {},
    events: [],
    status: { code: 0, message: '' },
  };
  // Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, attributes 9, events 11, status 15
  fields(b, (no, r) => {
    switch (no) {
      case 1:
        return ((s.traceId = hex(r.bytes())), true);
      case 2:
        return ((s.spanId = hex(r.bytes())), true);
      case 4:
        return ((s.parentSpanId = hex(r.bytes())), true);
      case 5:
        return ((s.name = r.string()), true);
      case 6:
        return ((s.kind = r.int32()), true);
      case 9:
        return (keyValue(r.bytes(), s.attributes), true);
      case 11: {
        // Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
        const e = { name: '', attributes: {} as Record<string, unknown> };
        fields(r.bytes(), (eno, er) =>
          eno === 2
            ? ((e.name = er.string()), true)
            : eno === 3
              ? (keyValue(er.bytes(), e.attributes), true)
              : false,
        );
        s.events.push(e);
        return true;
      }
      case 15:
        // Status { string message = 2; StatusCode code = 3; }
        fields(r.bytes(), (tno, tr) =>
          tno === 2
            ? ((s.status.message = tr.string()), true)
            : tno === 3
              ? ((s.status.code = tr.int32()), true)
              : false,
        );
        return true;
      default:
        return false;
    }
  });
  return s;
}

/** KeyValue { string key = 1; AnyValue value = 2; } into `into`. */
function keyValue(b: Uint8Array, into: Record<string, unknown>): void {
  let key = '';
  let value: unknown;
  fields(b, (no, r) =>
    no === 1 ? ((key = r.string()), true) : no === 2 ? ((value = anyValue(r.bytes())), true) : false,
  );
  into[key] = value;
}

/** AnyValue: string 1, bool 2, int64 3, double 4, ArrayValue 5 { repeated AnyValue values = 1; } */
function anyValue(b: Uint8Array): unknown {
  let value: unknown;
  fields(b, (no, r) => {
    if (no === 1) value = r.string();
    else if (no === 2) value = r.bool();
    else if (no === 3) value = Number(r.int64());
    else if (no === 4) value = r.double();
    else if (no === 5) {
      const list: unknown[] = [];
      fields(r.bytes(), (vno, vr) => (vno === 1 ? (list.push(anyValue(vr.bytes())), true) : false));
      value = list;
    } else return false;
    return true;
  });
  return value;
}

// ---- JSON (proto3 JSON mapping as OTLP/HTTP uses it) ----

interface JsonAny {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAny[] };
}
type JsonKv = { key: string; value: JsonAny };

function jsonAny(v: JsonAny): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(jsonAny);
  return undefined;
}

function jsonAttrs(kvs: JsonKv[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = jsonAny(kv.value);
  return out;
}

function decodeJson(body: Buffer): ReceivedSpan[] {
  const req = JSON.parse(body.toString('utf8')) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKv[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind?: number;
          attributes?: JsonKv[];
          events?: { name: string; attributes?: JsonKv[] }[];
          status?: { code?: number; message?: string };
        }[];
      }[];
    }[];
  };
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const service = String(jsonAttrs(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          attributes: jsonAttrs(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: jsonAttrs(e.attributes) })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
        });
      }
    }
  }
  return out;
}
