// Server configuration: syntax, types, required fields, validations and unknown keys (errors by default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerConfig } from '../../src/config/server.js';
import { ConfigError } from '../../src/config/errors.js';
import { expectConfigError, serverJson, WRITER } from './fixtures.js';

const opts = { file: 'server.json', env: {} };
const parse = (text: string) => parseServerConfig(text, opts);

/** asserts a ConfigError with exactly this message */
const rejects = (text: string, message: string | RegExp): ConfigError =>
  expectConfigError(() => parse(text), message);

test('a minimal configuration gets the extension defaults', () => {
  const { config, warnings } = parse(serverJson());
  assert.deepEqual(warnings, []);
  assert.equal(config.source, 'server.json');
  assert.equal(config.maxBodySize, 64 * 1024 * 1024);
  assert.equal(config.outStream.fixIpcPermissions, undefined);
  assert.ok(!('tls' in config) && !('auth' in config) && !('statistics' in config) && !('ops' in config));
});

test('a wrong type names file, JSON path, expectation and the value found', () => {
  const err = rejects(
    serverJson({}, { send_timeout: { secs: '1', nanos: 0 } }),
    'server.json: $.out_stream.send_timeout.secs: expected a non-negative integer, found "1"',
  );
  assert.equal(err.file, 'server.json');
  assert.equal(err.path, '$.out_stream.send_timeout.secs');
  assert.equal(err.expected, 'a non-negative integer');
  assert.equal(err.found, '"1"');
  rejects(
    serverJson({ port: 70000 }),
    'server.json: $.port: expected an integer from 0 to 65535, found 70000',
  );
  rejects(serverJson({ port: 80.5 }), /\$\.port: expected an integer from 0 to 65535, found 80\.5$/);
  rejects(serverJson({ ip: 1 }), 'server.json: $.ip: expected a non-empty string, found 1');
  rejects(serverJson({}, { send_timeout: 1 }), /\$\.out_stream\.send_timeout: expected a duration/);
  rejects('[]', 'server.json: $: expected a JSON object at the top level, found an array of 0');
});

test('a missing required field is named by its path', () => {
  const { send_timeout: _omit, ...rest } = WRITER;
  rejects(
    JSON.stringify({ ip: '127.0.0.1', port: 1, out_stream: rest }),
    'server.json: $.out_stream.send_timeout: required field is missing',
  );
  rejects(
    JSON.stringify({ ip: '127.0.0.1', out_stream: WRITER }),
    'server.json: $.port: required field is missing',
  );
  rejects(
    serverJson({}, { receive_timeout: { secs: 1 } }),
    'server.json: $.out_stream.receive_timeout.nanos: required field is missing',
  );
});

test('durations: object or [secs, nanos], truncated to ms, no extra keys, ≥ 1 ms for ZeroMQ', () => {
  const a = parse(
    serverJson({}, { send_timeout: [2, 999_999], receive_timeout: { secs: 0, nanos: 1_500_000 } }),
  );
  assert.equal(a.config.outStream.sendTimeoutMs, 2000);
  assert.equal(a.config.outStream.receiveTimeoutMs, 1);
  rejects(
    serverJson({}, { send_timeout: { secs: 0, nanos: 999_999 } }),
    'server.json: $.out_stream.send_timeout: must be at least 1 ms, found 0 ms',
  );
  rejects(
    serverJson({}, { send_timeout: { secs: 1, nanos: 0, millis: 3 } }),
    'server.json: $.out_stream.send_timeout.millis: unknown field',
  );
  rejects(serverJson({}, { send_timeout: [1] }), /send_timeout: expected a duration/);
  rejects(serverJson({}, { send_timeout: { secs: 10_000_000, nanos: 0 } }), /must be at most 2147483647 ms/);
});

test('JSON with comments and trailing commas is accepted; syntax errors give line and column', () => {
  const text = serverJson().replace('{', '{\n  // the gateway server\n  /* block */').replace(/\n}$/, ',\n}');
  assert.equal(parse(text).config.port, 8080);
  rejects('{\n  "ip": "127.0.0.1"\n  "port": 1\n}', 'server.json:3:3: invalid JSON: comma expected');
  rejects('', /^server\.json:1:1: invalid JSON: value expected$/);
});

test('top-level nulls are dropped (an absent optional section)', () => {
  const { config } = parse(serverJson({ tls: null, statistics: null, auth: null }));
  assert.equal(config.tls, undefined);
  assert.equal(config.statistics, undefined);
  rejects(serverJson({ port: null }), 'server.json: $.port: required field is missing');
});

test('an unknown key is an error naming its JSON path, with the stable code', () => {
  const err = rejects(
    serverJson({ extra: 1 }),
    /^server\.json: \$\.extra: unknown key \(remove it, or start with --allow-unknown-keys/,
  );
  assert.equal(err.code, 'config_unknown_key');
  rejects(
    serverJson({ statistics: { frame_period: 10, history_size: 100 } }),
    /\$\.statistics\.history_size: unknown key/,
  );
});

test('a misspelled security section is refused with a suggestion, not ignored', () => {
  const tsl = { identity: { certificate: '/c.crt', key: '/k.key' } };
  rejects(serverJson({ tsl }), 'server.json: $.tsl: unknown key (did you mean "tls" or "ssl"?)');
  rejects(serverJson({ sll: { server: {} } }), 'server.json: $.sll: unknown key (did you mean "ssl"?)');
  rejects(
    serverJson({ tls: { identity: { certificate: '/c.crt', key: '/k.key' }, peer: {} } }),
    'server.json: $.tls.peer: unknown key (did you mean "peers"?)',
  );
});

test('a misspelled required key names the typo in the missing-field error', () => {
  const writer = { ...WRITER, send_timout: WRITER.send_timeout } as Record<string, unknown>;
  delete writer.send_timeout;
  const err = expectConfigError(
    () => parseServerConfig(JSON.stringify({ ip: '127.0.0.1', port: 8080, out_stream: writer }), opts),
    'server.json: $.out_stream.send_timeout: required field is missing (found "send_timout": did you mean "send_timeout"?)',
  );
  assert.equal(err.code, 'config_unknown_key');
});

test('with allowUnknownKeys unknown keys are warnings, but near misses stay errors', () => {
  const lenient = (text: string) => parseServerConfig(text, { ...opts, allowUnknownKeys: true });
  const { warnings } = lenient(serverJson({ extra: 1, statistics: { frame_period: 10, history_size: 100 } }));
  assert.deepEqual(warnings.sort(), [
    'server.json: $.extra: unknown key, ignored',
    'server.json: $.statistics.history_size: unknown key, ignored',
  ]);
  expectConfigError(
    () => lenient(serverJson({ tsl: {} })),
    'server.json: $.tsl: unknown key (did you mean "tls" or "ssl"?)',
  );
});

test('MEDIA_GATEWAY_ALLOW_UNKNOWN_KEYS=1 is the environment form of the opt-out', () => {
  const env = { MEDIA_GATEWAY_ALLOW_UNKNOWN_KEYS: '1' };
  const { warnings } = parseServerConfig(serverJson({ extra: 1 }), { file: 'server.json', env });
  assert.deepEqual(warnings, ['server.json: $.extra: unknown key, ignored']);
});

test('warnings gathered before a failure travel with the error', () => {
  const err = expectConfigError(
    () => parseServerConfig(serverJson({ extra: 1, port: 'x' }), { ...opts, allowUnknownKeys: true }),
    /\$\.port: expected/,
  );
  assert.deepEqual(err.warnings, []);
  const late = expectConfigError(
    () =>
      parseServerConfig(serverJson({ statistics: { frame_period: 10, x: 1 }, metrics: { port: 'x' } }), {
        ...opts,
        allowUnknownKeys: true,
      }),
    /\$\.metrics\.port: expected/,
  );
  assert.deepEqual(late.warnings, ['server.json: $.statistics.x: unknown key, ignored']);
});

test('out_stream.inflight_ops of older versions is accepted with a warning that it is ignored', () => {
  const { warnings } = parse(serverJson({}, { inflight_ops: 100 }));
  assert.deepEqual(warnings, [
    'server.json: $.out_stream.inflight_ops: accepted for compatibility and ignored: the server has no in-flight queue',
  ]);
});

test('writer URL: validated with the Savant URL parser, reader types refused', () => {
  rejects(
    serverJson({}, { url: 'udp://127.0.0.1:1' }),
    /^server\.json: \$\.out_stream\.url: .*udp:\/\/127\.0\.0\.1:1/,
  );
  rejects(
    serverJson({}, { url: 'sub+bind:tcp://127.0.0.1:5555' }),
    /^server\.json: \$\.out_stream\.url: .*writer/i,
  );
  assert.equal(
    parse(serverJson({}, { url: 'dealer+connect:tcp://127.0.0.1:5555' })).config.outStream.url,
    'dealer+connect:tcp://127.0.0.1:5555',
  );
});

test('fix_ipc_permissions: a file mode, only with bind URLs', () => {
  assert.equal(parse(serverJson({}, { fix_ipc_permissions: 432 })).config.outStream.fixIpcPermissions, 0o660);
  rejects(
    serverJson({}, { url: 'pub+connect:ipc:///tmp/x', fix_ipc_permissions: 511 }),
    'server.json: $.out_stream.fix_ipc_permissions: IPC permissions can only be set for bind sockets',
  );
  rejects(serverJson({}, { fix_ipc_permissions: 4096 }), /expected an integer from 0 to 4095, found 4096/);
});

test('high-water marks must be at least 1', () => {
  rejects(
    serverJson({}, { send_hwm: 0 }),
    'server.json: $.out_stream.send_hwm: expected an integer ≥ 1, found 0',
  );
  rejects(
    serverJson({}, { receive_hwm: -1 }),
    /\$\.out_stream\.receive_hwm: expected an integer ≥ 1, found -1/,
  );
});

test('statistics: exactly one of frame_period and timestamp_period', () => {
  const msg = 'server.json: $.statistics: Exactly one of frame_period and timestamp_period must be specified';
  rejects(serverJson({ statistics: {} }), msg);
  rejects(serverJson({ statistics: { frame_period: 10, timestamp_period: { secs: 1, nanos: 0 } } }), msg);
  assert.deepEqual(
    parse(serverJson({ statistics: { frame_period: 10, timestamp_period: null } })).config.statistics,
    {
      framePeriod: 10,
    },
  );
  rejects(
    serverJson({ statistics: { frame_period: 0 } }),
    /\$\.statistics\.frame_period: expected an integer ≥ 1/,
  );
});

test('max_body_size and the operations listener (ops, or its older name metrics)', () => {
  const { config } = parse(serverJson({ max_body_size: 1024, ops: { ip: '0.0.0.0', port: 9090 } }));
  assert.equal(config.maxBodySize, 1024);
  assert.deepEqual(config.ops, { ip: '0.0.0.0', port: 9090 });
  // loopback unless the operator opens it
  assert.deepEqual(parse(serverJson({ ops: { port: 9090 } })).config.ops, { ip: '127.0.0.1', port: 9090 });
  assert.deepEqual(parse(serverJson({ metrics: { port: 9091 } })).config.ops, {
    ip: '127.0.0.1',
    port: 9091,
  });
  // `metrics` without a port kept its meaning: /metrics on the main port, no separate listener
  assert.equal(parse(serverJson({ metrics: {} })).config.ops, undefined);
  assert.deepEqual(parse(serverJson({ metrics: {} })).warnings, []);
  rejects(serverJson({ max_body_size: 0 }), /\$\.max_body_size: expected an integer ≥ 1, found 0/);
  rejects(serverJson({ metrics: { ip: '127.0.0.1' } }), /\$\.metrics: "ip" needs a "port"/);
  rejects(serverJson({ ops: {} }), /\$\.ops\.port: required field is missing/);
  rejects(serverJson({ ops: { port: 70000 } }), /\$\.ops\.port: expected an integer from 0 to 65535/);
  rejects(
    serverJson({ ops: { port: 1 }, metrics: { port: 2 } }),
    /\$\.metrics: "metrics" is the older name of "ops"/,
  );
});

const etcd = {
  urls: ['127.0.0.1:2379'],
  path: '/users',
  data_format: 'yaml',
  lease_timeout: { secs: 60, nanos: 0 },
  connect_timeout: { secs: 30, nanos: 0 },
  cache: { size: 10 },
};

test('auth.basic: etcd settings, caches, quarantine, and our certificate_identity extension', () => {
  const peers = {
    identity: { certificate: '/x/s.crt', key: '/x/s.key' },
    peers: { lookup_hash_directory: '/x/h', crl_enabled: true },
  };
  const { config } = parse(
    serverJson({
      tls: peers,
      auth: {
        basic: {
          etcd: { ...etcd, credentials: { username: 'root', password: 'secret' } },
          cache: { size: 5 },
          quarantine: { period: [1, 0], failed_attempt_limit: 3 },
        },
        certificate_identity: { from: 'dns' },
      },
    }),
  );
  assert.deepEqual(config.auth, {
    basic: {
      etcd: {
        urls: ['http://127.0.0.1:2379'],
        credentials: { username: 'root', password: 'secret' },
        path: '/users',
        dataFormat: 'yaml',
        leaseTimeoutMs: 60_000,
        connectTimeoutMs: 30_000,
        cache: { size: 10 },
      },
      cache: { size: 5 },
      quarantine: { periodMs: 1000, failedAttemptLimit: 3 },
    },
    certificateIdentity: { from: 'dns', required: true },
  });
  const auth = (basic: Record<string, unknown>, more: Record<string, unknown> = {}) =>
    serverJson({ auth: { basic: { etcd, cache: { size: 5 }, ...basic }, ...more } });
  rejects(auth({ cache: { size: 0 } }), /\$\.auth\.basic\.cache\.size: expected an integer ≥ 1, found 0/);
  const shared = (prefix: unknown) =>
    auth({ quarantine: { period: [60, 0], failed_attempt_limit: 3, shared: { prefix } } });
  assert.deepEqual(parse(shared('/mg/quarantine')).config.auth?.basic?.quarantine?.shared, {
    prefix: '/mg/quarantine',
  });
  // the users live under /users (etcd.path above): a prefix inside it, or around it, would mix the two
  for (const p of ['/users/q', '/users', '/', '/users/'])
    rejects(
      shared(p),
      /\$\.auth\.basic\.quarantine\.shared\.prefix: must not overlap auth\.basic\.etcd\.path/,
    );
  assert.ok(parse(shared('/users2')).config.auth);
  rejects(shared(''), /\$\.auth\.basic\.quarantine\.shared\.prefix: expected a non-empty string/);
  // relative and `//` prefixes cannot be compared with the other paths
  for (const p of ['users/q', 'mg/quarantine', '//users', '/mg//q'])
    rejects(shared(p), /\$\.auth\.basic\.quarantine\.shared\.prefix: must be an absolute etcd prefix/);
  // nor may it overlap an explicit certificate identity path
  rejects(
    auth(
      { quarantine: { period: [60, 0], failed_attempt_limit: 3, shared: { prefix: '/ids/q' } } },
      { certificate_identity: { path: '/ids' } },
    ),
    /\$\.auth\.basic\.quarantine\.shared\.prefix: must not overlap auth\.certificate_identity\.path \("\/ids"\)/,
  );
  rejects(
    auth({ quarantine: { period: [60, 0], failed_attempt_limit: 0 } }),
    /\$\.auth\.basic\.quarantine\.failed_attempt_limit: expected an integer ≥ 1, found 0/,
  );
  rejects(
    auth({ etcd: { ...etcd, data_format: 'toml' } }),
    /data_format: expected one of "json", "yaml", found "toml"/,
  );
  rejects(auth({ etcd: { ...etcd, urls: [] } }), /\$\.auth\.basic\.etcd\.urls: expected a non-empty array/);
  rejects(
    auth({ etcd: { ...etcd, urls: ['http://etcd:2379'], tls: { root_certificate: 'ca.crt' } } }),
    /\$\.auth\.basic\.etcd\.urls\[0\]: etcd TLS settings are given but this endpoint is http:\/\//,
  );
  rejects(auth({ etcd: { ...etcd, lease_timeout: [0, 0] } }), /lease_timeout: must be at least 1 ms/);
  rejects(
    auth({}, { certificate_identity: { from: 'cn' } }),
    /\$\.auth\.certificate_identity: needs client certificates/,
  );
  rejects(auth({}, { certificate_identity: { from: 'email' } }), /from: expected one of "cn", "dns", "uri"/);
  rejects(serverJson({ auth: { certificate_identity: {} } }), /\$\.auth\.basic: required field is missing/);
});

test('a password of the wrong type is not echoed', () => {
  const text = serverJson({
    auth: {
      basic: { etcd: { ...etcd, credentials: { username: 'u', password: 12345678 } }, cache: { size: 1 } },
    },
  });
  const err = rejects(text, /credentials\.password: expected a string, found \(hidden\)$/);
  assert.ok(!err.message.includes('12345678'));
});

test('tls and ssl together are refused', () => {
  rejects(
    serverJson({
      tls: { identity: { certificate: 'a', key: 'b' } },
      ssl: { server: { certificate: 'a', certificate_key: 'b' } },
    }),
    /^server\.json: \$: both "tls" and "ssl" are given/,
  );
});

test('a key given twice in one object is an error (the original refused it too)', () => {
  const text =
    '{\n  "ip": "127.0.0.1",\n  "port": 1,\n  "out_stream": {\n    "url": "a",\n    "url": "b"\n  }\n}';
  rejects(text, 'server.json:6:5: $.out_stream.url: duplicate key "url"');
  // the same key in different objects is fine
  assert.equal(
    parse(serverJson({ statistics: { frame_period: 1 }, metrics: { port: 1 } })).config.port,
    8080,
  );
});

test('a security section set to null is accepted as absent, with a warning that says what is off', () => {
  const { config, warnings } = parse(serverJson({ tls: null, auth: null }));
  assert.equal(config.tls, undefined);
  assert.deepEqual(warnings.sort(), [
    'server.json: $.auth: is null, which means absent: authentication is off',
    'server.json: $.tls: is null, which means absent: the TLS settings are off (a server then serves plain HTTP)',
  ]);
  const peers = parse(
    serverJson({ tls: { identity: { certificate: '/c.crt', key: '/k.key' }, peers: null } }),
  ).warnings;
  assert.deepEqual(peers, [
    'server.json: $.tls.peers: is null, which means absent: client certificates are not required',
  ]);
});

test('a key with invisible characters is shown escaped, and refused as a near miss of the key it mimics', () => {
  expectConfigError(
    () => parseServerConfig(serverJson({ 't\u200bls': {} }), { ...opts, allowUnknownKeys: true }),
    'server.json: $["t\\u200bls"]: unknown key (did you mean "tls"?)',
  );
});

test('proxy_protocol: trusted networks, required by default, header timeout and size bound', () => {
  const { config } = parse(
    serverJson({ proxy_protocol: { trusted: ['10.0.0.0/8', 'fd00::/8', '192.0.2.1'] } }),
  );
  assert.deepEqual(config.proxyProtocol, {
    trusted: ['10.0.0.0/8', 'fd00::/8', '192.0.2.1'],
    required: true,
    headerTimeoutMs: 3000,
    maxHeaderBytes: 4096,
  });
  const tuned = parse(
    serverJson({
      proxy_protocol: {
        trusted: ['127.0.0.1/32'],
        required: false,
        header_timeout: { secs: 1, nanos: 0 },
        max_header_bytes: 232,
      },
    }),
  ).config.proxyProtocol;
  assert.equal(tuned?.required, false);
  assert.equal(tuned?.headerTimeoutMs, 1000);
  assert.equal(tuned?.maxHeaderBytes, 232);
});

test('proxy_protocol: a network that is not one, an empty list, a typo and an out-of-range bound are refused', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'balancer', '::1/129', '10.0.0.0/08', '10.0.0.0/8/1'])
    rejects(
      serverJson({ proxy_protocol: { trusted: ['127.0.0.1', bad] } }),
      /\$\.proxy_protocol\.trusted\[1\]: expected a network such as "10\.0\.0\.0\/8"/,
    );
  rejects(
    serverJson({ proxy_protocol: { trusted: [] } }),
    /\$\.proxy_protocol\.trusted: expected a non-empty array/,
  );
  rejects(
    serverJson({ proxy_protocol: { trusted: ['10.0.0.0/8'], requird: true } }),
    /did you mean "required"/,
  );
  rejects(
    serverJson({ proxy_protocol: { required: true } }),
    /\$\.proxy_protocol\.trusted: required field is missing/,
  );
  rejects(
    serverJson({ proxy_protocol: { trusted: ['10.0.0.0/8'], max_header_bytes: 100 } }),
    /\$\.proxy_protocol\.max_header_bytes: must be from 232 to 65551 bytes/,
  );
});

test('proxy_protocol: a trusted entry with host bits set, or one that trusts every IPv4 address, is refused', () => {
  for (const [bad, why] of [
    ['10.0.0.5/8', /has host bits set after \/8/],
    ['10.1.2.3/0', /has host bits set after \/0/],
    ['2001:db8::1/64', /has host bits set after \/64/],
    ['0.0.0.0/0', /trusts every address/],
    ['::/0', /trusts every address/],
    ['::ffff:0:0/96', /trusts every IPv4 address too/],
    ['::/8', /trusts every IPv4 address too/],
  ] as const)
    rejects(
      serverJson({ proxy_protocol: { trusted: ['127.0.0.1/32', bad] } }),
      new RegExp(`\\$\\.proxy_protocol\\.trusted\\[1\\]: "${bad.replace(/[./:]/g, '\\$&')}" .*${why.source}`),
    );
  // the networks themselves, one host, and an IPv4 range written in IPv6 are fine
  for (const ok of ['10.0.0.0/8', '10.0.0.5/32', '2001:db8::/32', '::1/128', '::ffff:10.0.0.0/104'])
    assert.ok(parse(serverJson({ proxy_protocol: { trusted: [ok] } })).config.proxyProtocol);
});

test('proxy_protocol: null and quarantine.shared: null are accepted as absent, with a warning', () => {
  assert.deepEqual(parse(serverJson({ proxy_protocol: null })).warnings, [
    'server.json: $.proxy_protocol: is null, which means absent: no PROXY protocol header is read (behind a balancer every client is charged to it)',
  ]);
  const etcd = {
    urls: ['http://127.0.0.1:2379'],
    path: '/users',
    data_format: 'json',
    lease_timeout: [60, 0],
    connect_timeout: [30, 0],
    cache: { size: 10 },
  };
  const { warnings } = parse(
    serverJson({
      auth: {
        basic: {
          etcd,
          cache: { size: 5 },
          quarantine: { period: [60, 0], failed_attempt_limit: 3, shared: null },
        },
      },
    }),
  );
  assert.ok(
    warnings.includes(
      'server.json: $.auth.basic.quarantine.shared: is null, which means absent: each server counts failed logins alone (a fleet multiplies the guesses per address)',
    ),
    warnings.join('\n'),
  );
});

test('stream: a strict bool, absent by default (on)', () => {
  assert.equal(parse(serverJson()).config.stream, undefined);
  assert.equal(parse(serverJson({ stream: false })).config.stream, false);
  rejects(serverJson({ stream: 'no' }), /\$\.stream: expected true or false, found/);
  rejects(serverJson({ streams: false }), /\$\.streams/);
});
