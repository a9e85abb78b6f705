// The original's `tls` form and the seed document's `ssl` form describe the same settings and must normalise
// to identical configurations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientConfig } from '../../src/config/client.js';
import { parseServerConfig } from '../../src/config/server.js';
import { clientJson, serverJson } from './fixtures.js';

const opts = { file: '/srv/mg/config.json', env: {} };

test('server: tls {identity, peers} equals ssl {server, client}', () => {
  const extras = {
    poll_interval: { secs: 0, nanos: 250_000_000 },
    crl_expiry_warning: { secs: 3600 * 24 * 60, nanos: 0 },
  };
  const original = parseServerConfig(
    serverJson({
      tls: {
        identity: { certificate: 'server.crt', key: 'server.key' },
        peers: { lookup_hash_directory: '/opt/etc/store', crl_enabled: true, ...extras },
      },
    }),
    opts,
  );
  const seed = parseServerConfig(
    serverJson({
      ssl: {
        server: { certificate: 'server.crt', certificate_key: 'server.key' },
        client: { certificate_directory: '/opt/etc/store', ...extras },
      },
    }),
    opts,
  );
  assert.deepEqual(seed, original);
  assert.deepEqual(original.config.tls, {
    certificate: '/srv/mg/server.crt',
    key: '/srv/mg/server.key',
    clientAuth: {
      directory: '/opt/etc/store',
      crlEnabled: true,
      pollIntervalMs: 250,
      crlExpiryWarningMs: 60 * 24 * 3600 * 1000,
    },
  });
});

test('server: HTTPS only (no client certificates) in both forms, and crl_enabled false', () => {
  const a = parseServerConfig(
    serverJson({ tls: { identity: { certificate: 'a.crt', key: 'a.key' } } }),
    opts,
  ).config;
  const b = parseServerConfig(
    serverJson({ ssl: { server: { certificate: 'a.crt', certificate_key: 'a.key' } } }),
    opts,
  ).config;
  assert.deepEqual(a, b);
  assert.equal(a.tls?.clientAuth, undefined);
  const noCrl = parseServerConfig(
    serverJson({
      ssl: {
        server: { certificate: 'a', certificate_key: 'b' },
        client: { certificate_directory: 'd', crl_enabled: false },
      },
    }),
    opts,
  ).config;
  assert.equal(noCrl.tls?.clientAuth?.crlEnabled, false);
});

test('server: the original form requires crl_enabled, both forms require the key', () => {
  assert.throws(
    () =>
      parseServerConfig(
        serverJson({
          tls: { identity: { certificate: 'a', key: 'b' }, peers: { lookup_hash_directory: 'd' } },
        }),
        opts,
      ),
    /\$\.tls\.peers\.crl_enabled: required field is missing/,
  );
  assert.throws(
    () => parseServerConfig(serverJson({ ssl: { server: { certificate: 'a' } } }), opts),
    /\$\.ssl\.server\.certificate_key: required field is missing/,
  );
});

test('client: tls {root_certificate, identity} equals ssl {server, client}', () => {
  const original = parseClientConfig(
    clientJson({
      url: 'https://gw:8080',
      tls: { root_certificate: 'ca.crt', identity: { certificate: 'client.crt', key: 'client.key' } },
    }),
    opts,
  );
  const seed = parseClientConfig(
    clientJson({
      url: 'https://gw:8080',
      ssl: {
        server: { certificate: 'ca.crt' },
        client: { certificate: 'client.crt', certificate_key: 'client.key' },
      },
    }),
    opts,
  );
  assert.deepEqual(seed, original);
  assert.deepEqual(original.config.tls, {
    rootCertificate: '/srv/mg/ca.crt',
    identity: { certificate: '/srv/mg/client.crt', key: '/srv/mg/client.key' },
  });
});

test('client: tls and ssl together are refused', () => {
  assert.throws(() => parseClientConfig(clientJson({ url: 'https://gw', tls: {}, ssl: {} }), opts), {
    name: 'ConfigError',
    message: /^\/srv\/mg\/config\.json: \$: both "tls" and "ssl" are given/,
  });
});
