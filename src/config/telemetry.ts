// The `telemetry` section of both halves, in the shape of Savant's own telemetry configuration so that one
// block serves the whole pipeline (context_propagation_format + tracer), plus our `sampling` (docs/tracing.md).
// Absent → tracing is off and src/telemetry/ is never loaded.
import { duration, filePath, int, nonEmptyStr, oneOf, type Node } from './fields.js';
import type { TelemetryConfig } from './types.js';

export const DEFAULT_TRACER_TIMEOUT_MS = 10_000;
export const DEFAULT_SAMPLING = { ratio: 1, rejectionsPerMinute: 60 };

export function telemetry(n: Node): TelemetryConfig {
  const o = n.object();
  const config: TelemetryConfig = {
    format: o.optional('context_propagation_format', oneOf('w3c', 'jaeger')) ?? 'w3c',
    tracer: o.required('tracer', tracer),
    sampling: o.optional('sampling', sampling) ?? { ...DEFAULT_SAMPLING },
  };
  o.done();
  return config;
}

function tracer(n: Node): TelemetryConfig['tracer'] {
  const o = n.object();
  const serviceName = o.required('service_name', nonEmptyStr);
  const protocolNode = o.child('protocol');
  const protocol = o.required('protocol', oneOf('grpc', 'http_binary', 'http_json'));
  // OTLP/gRPC would add @grpc/grpc-js and a second exporter stack for what every collector also takes
  // over OTLP/HTTP; refusing it here is clearer than an exporter that fails at run time.
  if (protocol === 'grpc') {
    throw protocolNode.error(
      '"grpc" is not supported by media-gateway: use "http_binary" (OTLP/HTTP protobuf, collector port 4318) or "http_json"',
    );
  }
  const endpointNode = o.child('endpoint');
  const endpoint = o.required('endpoint', otlpEndpoint);
  const config: TelemetryConfig['tracer'] = {
    serviceName,
    protocol,
    endpoint,
    timeoutMs: o.optional('timeout', duration({ minMs: 1 })) ?? DEFAULT_TRACER_TIMEOUT_MS,
    tls: o.optional('tls', tracerTls),
  };
  o.done();
  if (config.tls && new URL(endpoint).protocol !== 'https:') {
    throw endpointNode.error('tracer.tls is given but the endpoint is not https://');
  }
  return config;
}

/** The collector's traces URL, e.g. http://127.0.0.1:4318/v1/traces (used as is, no path is appended). */
function otlpEndpoint(n: Node): string {
  const text = nonEmptyStr(n);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw n.mismatch('an http:// or https:// URL of an OTLP/HTTP traces endpoint');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw n.mismatch('an http:// or https:// URL of an OTLP/HTTP traces endpoint');
  }
  return text;
}

function tracerTls(n: Node): NonNullable<TelemetryConfig['tracer']['tls']> {
  const o = n.object();
  const certificate = o.optional('certificate', filePath);
  const identity = o.optional('identity', (i) => {
    const io = i.object();
    const pair = { certificate: io.required('certificate', filePath), key: io.required('key', filePath) };
    io.done();
    return pair;
  });
  o.done();
  return { certificate, identity };
}

function sampling(n: Node): TelemetryConfig['sampling'] {
  const o = n.object();
  const ratio = o.optional('ratio', (r) => {
    if (typeof r.value !== 'number' || !(r.value >= 0 && r.value <= 1))
      throw r.mismatch('a number from 0 to 1');
    return r.value;
  });
  const config = {
    ratio: ratio ?? DEFAULT_SAMPLING.ratio,
    rejectionsPerMinute:
      o.optional('rejections_per_minute', int({ max: 60_000 })) ?? DEFAULT_SAMPLING.rejectionsPerMinute,
  };
  o.done();
  return config;
}
