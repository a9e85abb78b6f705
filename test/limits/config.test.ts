// The server's `limits` section: defaults without it, each key read and validated like the rest of the
// configuration (path, expected, found), unknown keys warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerConfig } from '../../src/config/server.js';
import { DEFAULT_SERVER_LIMITS, defaultVerificationConcurrency } from '../../src/config/limits.js';
import { ConfigError } from '../../src/config/errors.js';
import { serverJson } from '../helpers/config-json.js';

test('without limits the defaults apply', () => {
  assert.deepEqual(parseServerConfig(serverJson()).config.limits, DEFAULT_SERVER_LIMITS);
});

test('every key is read; durations in the usual form', () => {
  const { config, warnings } = parseServerConfig(
    serverJson({
      limits: {
        max_extra_frames: 8,
        max_connections: 10,
        max_connections_per_address: 2,
        tls_handshake_timeout: { secs: 3, nanos: 0 },
        auth_failure_period: { secs: 30, nanos: 0 },
        max_concurrent_verifications: 3,
        helper_thread_nice: 0,
      },
    }),
  );
  assert.deepEqual(warnings, []);
  assert.equal(config.limits!.maxExtraFrames, 8);
  assert.equal(config.limits!.maxConnections, 10);
  assert.equal(config.limits!.maxConnectionsPerAddress, 2);
  assert.equal(config.limits!.tlsHandshakeTimeoutMs, 3000);
  assert.equal(config.limits!.authFailurePeriodMs, 30_000);
  assert.equal(config.limits!.maxConcurrentVerifications, 3);
  assert.equal(config.limits!.helperThreadNice, 0);
  assert.equal(config.limits!.maxBatchItems, DEFAULT_SERVER_LIMITS.maxBatchItems);
});

test('wrong values are errors naming the key', () => {
  for (const [limits, pathRe] of [
    [{ max_extra_frames: 0 }, /\$\.limits\.max_extra_frames: expected an integer ≥ 1, found 0/],
    [{ max_connections: '10' }, /\$\.limits\.max_connections: expected an integer ≥ 1, found "10"/],
    [{ helper_thread_nice: 20 }, /\$\.limits\.helper_thread_nice: expected an integer (in )?.*19/],
    [{ header_timeout: 5 }, /\$\.limits\.header_timeout: expected a duration/],
    [
      { header_timeout: { secs: 90, nanos: 0 }, request_timeout: { secs: 60, nanos: 0 } },
      /\$\.limits\.header_timeout: must not be longer than request_timeout/,
    ],
  ] as const) {
    assert.throws(
      () => parseServerConfig(serverJson({ limits })),
      (e: unknown) => e instanceof ConfigError && pathRe.test(e.message),
      JSON.stringify(limits),
    );
  }
});

test('a misspelled key in limits is refused with a suggestion', () => {
  assert.throws(
    () => parseServerConfig(serverJson({ limits: { max_conections: 5 } })),
    /\$\.limits\.max_conections: unknown key \(did you mean "max_connections"\?\)/,
  );
});

test('Argon2 concurrency defaults to the cores minus one, at least one', () => {
  assert.equal(defaultVerificationConcurrency(1), 1);
  assert.equal(defaultVerificationConcurrency(2), 1);
  assert.equal(defaultVerificationConcurrency(8), 7);
});
