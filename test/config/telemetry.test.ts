// The `telemetry` section of both halves: Savant's shape, our sampling, strict keys, grpc refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientConfig } from '../../src/config/client.js';
import { parseServerConfig } from '../../src/config/server.js';
import { clientJson, expectConfigError, serverJson } from './fixtures.js';

const opts = { file: '/etc/mg/gw.json', env: {} };
const TRACER = { service_name: 'gw', protocol: 'http_binary', endpoint: 'http://127.0.0.1:4318/v1/traces' };
const server = (telemetry: unknown) => parseServerConfig(serverJson({ telemetry }), opts).config;
const client = (telemetry: unknown) => parseClientConfig(clientJson({ telemetry }), opts).config;

test('absent: no telemetry; the minimal section gets the defaults', () => {
  assert.equal(parseServerConfig(serverJson(), opts).config.telemetry, undefined);
  for (const read of [server, client]) {
    assert.deepEqual(read({ tracer: TRACER }).telemetry, {
      format: 'w3c',
      tracer: { serviceName: 'gw', protocol: 'http_binary', endpoint: TRACER.endpoint, timeoutMs: 10_000 },
      sampling: { ratio: 1, rejectionsPerMinute: 60 },
    });
  }
});

test("Savant's full block is accepted as written, with our sampling next to it", () => {
  const t = client({
    context_propagation_format: 'jaeger',
    tracer: {
      ...TRACER,
      protocol: 'http_json',
      endpoint: 'https://collector:4318/v1/traces',
      timeout: { secs: 3, nanos: 0 },
      tls: { certificate: 'ca.pem', identity: { certificate: 'c.pem', key: 'c.key' } },
    },
    sampling: { ratio: 0.25, rejections_per_minute: 10 },
  }).telemetry!;
  assert.equal(t.format, 'jaeger');
  assert.equal(t.tracer.timeoutMs, 3000);
  assert.deepEqual(t.tracer.tls, {
    certificate: '/etc/mg/ca.pem',
    identity: { certificate: '/etc/mg/c.pem', key: '/etc/mg/c.key' },
  });
  assert.deepEqual(t.sampling, { ratio: 0.25, rejectionsPerMinute: 10 });
});

test('grpc is refused with the reason and what to use instead', () => {
  expectConfigError(
    () => server({ tracer: { ...TRACER, protocol: 'grpc' } }),
    /\$\.telemetry\.tracer\.protocol: "grpc" is not supported by media-gateway: use "http_binary"/,
  );
});

test('each wrong value names its path', () => {
  expectConfigError(
    () => server({ tracer: { ...TRACER, protocol: 'http' } }),
    /tracer\.protocol: expected one of/,
  );
  expectConfigError(
    () => server({ context_propagation_format: 'b3', tracer: TRACER }),
    /context_propagation_format/,
  );
  expectConfigError(() => server({ tracer: { ...TRACER, endpoint: 'localhost:4318' } }), /tracer\.endpoint/);
  expectConfigError(() => server({}), /\$\.telemetry\.tracer: required field is missing/);
  expectConfigError(() => server({ tracer: { ...TRACER, service_name: '' } }), /service_name/);
  expectConfigError(
    () => server({ tracer: TRACER, sampling: { ratio: 1.5 } }),
    /sampling\.ratio: expected a number from 0 to 1/,
  );
  expectConfigError(
    () => server({ tracer: { ...TRACER, tls: { certificate: 'ca.pem' } } }),
    /tracer\.endpoint: tracer\.tls is given but the endpoint is not https/,
  );
});

test('unknown keys are refused, near misses with a suggestion', () => {
  expectConfigError(() => server({ tracer: TRACER, sampling: { ration: 1 } }), /did you mean "ratio"/);
  expectConfigError(() => server({ tracer: { ...TRACER, servce_name: 'x' } }), /service_name/);
  expectConfigError(() => client({ tracer: TRACER, exporter: {} }), /\$\.telemetry\.exporter: unknown key/);
});
