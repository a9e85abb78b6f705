// Client configuration: the original's fields, our extensions, and each validation error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseClientConfig } from '../../src/config/client.js';
import { ConfigError } from '../../src/config/errors.js';
import { clientJson, expectConfigError } from './fixtures.js';

const opts = { file: '/etc/mg/client.json', env: {} };
const parse = (text: string) => parseClientConfig(text, opts);

const rejects = (text: string, message: string | RegExp): ConfigError =>
  expectConfigError(() => parse(text), message);

test("topic_prefix_spec in all of serde's spellings", () => {
  const spec = (v: unknown) =>
    parse(clientJson({}, { topic_prefix_spec: v })).config.inStream.topicPrefixSpec;
  assert.deepEqual(spec('none'), { kind: 'none' });
  assert.deepEqual(spec({ none: null }), { kind: 'none' });
  assert.deepEqual(spec({ source_id: 'cam1' }), { kind: 'source_id', value: 'cam1' });
  assert.deepEqual(spec({ prefix: 'cam' }), { kind: 'prefix', value: 'cam' });
  rejects(
    clientJson({}, { topic_prefix_spec: { topic: 'x' } }),
    /topic_prefix_spec: unknown variant "topic": expected one of "none", "source_id", "prefix"/,
  );
  rejects(
    clientJson({}, { topic_prefix_spec: { none: null, prefix: 'x' } }),
    /topic_prefix_spec: expected one of/,
  );
  rejects(clientJson({}, { topic_prefix_spec: 'prefix' }), /topic_prefix_spec: "prefix" needs a value/);
  rejects(
    clientJson({}, { topic_prefix_spec: { none: 1 } }),
    /topic_prefix_spec\.none: "none" takes no value/,
  );
});

test('reader fields: sizes ≥ 1, ack policy, fix_ipc_permissions only with bind', () => {
  rejects(
    clientJson({}, { inflight_ops: 0 }),
    '/etc/mg/client.json: $.in_stream.inflight_ops: expected an integer ≥ 1, found 0',
  );
  rejects(
    clientJson({}, { source_cache_size: 0 }),
    /\$\.in_stream\.source_cache_size: expected an integer ≥ 1, found 0/,
  );
  rejects(clientJson({}, { receive_hwm: 0 }), /\$\.in_stream\.receive_hwm: expected an integer ≥ 1/);
  rejects(
    clientJson({}, { receive_timeout: [0, 0] }),
    /\$\.in_stream\.receive_timeout: must be at least 1 ms/,
  );
  assert.equal(parse(clientJson({}, { ack: 'on_delivery' })).config.inStream.ack, 'on_delivery');
  rejects(
    clientJson({}, { ack: 'never' }),
    /\$\.in_stream\.ack: expected one of "on_read", "on_delivery", "on_persist", found "never"/,
  );
  rejects(
    clientJson({}, { url: 'sub+connect:ipc:///tmp/x', fix_ipc_permissions: 511 }),
    /\$\.in_stream\.fix_ipc_permissions: IPC permissions can only be set for bind sockets/,
  );
});

test('reader URL: validated, writer types refused', () => {
  rejects(
    clientJson({}, { url: 'pub+bind:tcp://127.0.0.1:5555' }),
    /^\/etc\/mg\/client\.json: \$\.in_stream\.url: .*reader/i,
  );
  rejects(clientJson({}, { url: 'not a url' }), /\$\.in_stream\.url: /);
  assert.equal(
    parse(clientJson({}, { url: 'router+bind:tcp://127.0.0.1:5555' })).config.inStream.url,
    'router+bind:tcp://127.0.0.1:5555',
  );
});

test('server url must be http(s); with TLS settings it must be https', () => {
  rejects(
    clientJson({ url: 'ftp://x' }),
    /\$\.url: expected an http:\/\/ or https:\/\/ URL of the gateway server, found "ftp:\/\/x"/,
  );
  rejects(clientJson({ url: 'localhost:8080' }), /\$\.url: expected an http:\/\/ or https:\/\//);
  rejects(
    clientJson({ url: 'http://gw:8080', tls: { root_certificate: 'ca.crt' } }),
    /^\/etc\/mg\/client\.json: \$\.url: TLS settings are given \(tls\/ssl\) but the server URL is http:\/\/: use https:\/\//,
  );
  rejects(
    clientJson({ url: 'http://gw:8080', ssl: { server: { certificate: 'ca.crt' } } }),
    /\$\.url: TLS settings are given/,
  );
  const { config } = parse(clientJson({ url: 'https://gw:8080' }));
  assert.equal(config.tls, undefined);
  assert.equal(config.url, 'https://gw:8080');
});

test('retry_strategy: exponential with initial ≤ maximum and multiplier ≥ 2', () => {
  const retry = (r: unknown) => clientJson({ retry_strategy: { exponential: r } });
  const ok = parse(retry({ initial_delay: [0, 5_000_000], maximum_delay: [2, 0], multiplier: 3 })).config
    .retry;
  assert.deepEqual(ok, { initialDelayMs: 5, maximumDelayMs: 2000, multiplier: 3 });
  rejects(
    retry({ initial_delay: [3, 0], maximum_delay: [2, 0], multiplier: 2 }),
    '/etc/mg/client.json: $.retry_strategy.exponential: initial_delay (3000 ms) must not be greater than maximum_delay (2000 ms)',
  );
  rejects(
    retry({ initial_delay: [1, 0], maximum_delay: [2, 0], multiplier: 1 }),
    '/etc/mg/client.json: $.retry_strategy.exponential.multiplier: multiplier must be at least 2: expected an integer ≥ 2, found 1',
  );
  rejects(
    retry({ initial_delay: [0, 0], maximum_delay: [2, 0], multiplier: 2 }),
    /initial_delay: must be at least 1 ms/,
  );
  rejects(clientJson({ retry_strategy: { linear: {} } }), /\$\.retry_strategy: unknown variant "linear"/);
  rejects(
    retry({ initial_delay: [1, 0], multiplier: 2 }),
    /\$\.retry_strategy\.exponential\.maximum_delay: required field is missing/,
  );
});

test('wait_strategy: "yield", {"yield": null} or {"sleep": Duration}', () => {
  const wait = (w: unknown) => parse(clientJson({ wait_strategy: w })).config.waitStrategy;
  assert.deepEqual(wait('yield'), { kind: 'yield' });
  assert.deepEqual(wait({ yield: null }), { kind: 'yield' });
  assert.deepEqual(wait({ sleep: { secs: 0, nanos: 2_000_000 } }), { kind: 'sleep', ms: 2 });
  rejects(clientJson({ wait_strategy: 'spin' }), /\$\.wait_strategy: unknown variant "spin"/);
});

test('auth.basic: username and password; a colon in the username is refused', () => {
  const { config } = parse(
    clientJson({ url: 'https://gw', auth: { basic: { username: 'u', password: 'p$$w' } } }),
  );
  // `$$` is how the original's configs spell a literal `$` (substitution runs over the whole text)
  assert.deepEqual(config.auth, { basic: { username: 'u', password: 'p$w' } });
  rejects(
    clientJson({ auth: { basic: { username: 'a:b', password: 'p' } } }),
    /\$\.auth\.basic\.username: a Basic auth username must not contain ":"/,
  );
  rejects(
    clientJson({ auth: { basic: { username: 'u' } } }),
    /\$\.auth\.basic\.password: required field is missing/,
  );
});

test('extensions: dead_letter_dir, shutdown_timeout, transport, metrics', () => {
  const { config, warnings } = parse(
    clientJson({
      dead_letter_dir: 'dl',
      shutdown_timeout: { secs: 3, nanos: 0 },
      transport: {
        mode: 'batch',
        lanes: 2,
        max_batch_messages: 10,
        max_batch_bytes: 1000,
        request_timeout: { secs: 5, nanos: 0 },
      },
      ops: { port: 9091 },
    }),
  );
  assert.deepEqual(warnings, []);
  assert.equal(config.deadLetterDir, path.join('/etc/mg', 'dl'));
  assert.equal(config.shutdownTimeoutMs, 3000);
  assert.deepEqual(config.transport, {
    mode: 'batch',
    lanes: 2,
    maxBatchMessages: 10,
    maxBatchBytes: 1000,
    requestTimeoutMs: 5000,
  });
  assert.deepEqual(config.ops, { ip: '127.0.0.1', port: 9091 });
  assert.deepEqual(parse(clientJson({ transport: { mode: 'single' } })).config.transport, {
    mode: 'single',
    lanes: 4,
    maxBatchMessages: 256,
    maxBatchBytes: 8 * 1024 * 1024,
    requestTimeoutMs: 30_000,
  });
  rejects(
    clientJson({ transport: { request_timeout: { secs: 0, nanos: 50_000_000 } } }),
    /\$\.transport\.request_timeout: must be at least 100 ms/,
  );
  rejects(
    clientJson({ transport: { lanes: 0 } }),
    /\$\.transport\.lanes: expected an integer from 1 to 1024, found 0/,
  );
  rejects(
    clientJson({ transport: { mode: 'bulk' } }),
    /\$\.transport\.mode: expected one of "auto", "single", "batch"/,
  );
});

test('relative file paths are resolved against the configuration file directory', () => {
  const { config } = parse(
    clientJson({
      url: 'https://gw',
      tls: { root_certificate: 'pki/ca.crt', identity: { certificate: '/abs/c.crt', key: '../k.key' } },
    }),
  );
  assert.deepEqual(config.tls, {
    rootCertificate: '/etc/mg/pki/ca.crt',
    identity: { certificate: '/abs/c.crt', key: '/etc/k.key' },
  });
});

test('unknown keys at any depth are refused with their JSON path', () => {
  rejects(clientJson({ colour: 'blue' }), /^\/etc\/mg\/client\.json: \$\.colour: unknown key \(remove it/);
  rejects(clientJson({}, { batch: 3 }), /\$\.in_stream\.batch: unknown key/);
  rejects(clientJson({ transport: { mode: 'auto', turbo: true } }), /\$\.transport\.turbo: unknown key/);
  rejects(clientJson({ 'odd key': 1 }), /\$\["odd key"\]: unknown key/);
});

test('with allowUnknownKeys they are warnings naming each JSON path', () => {
  const { warnings } = parseClientConfig(
    clientJson({ colour: 'blue', transport: { mode: 'auto', turbo: true }, 'odd key': 1 }, { batch: 3 }),
    { ...opts, allowUnknownKeys: true },
  );
  assert.deepEqual(warnings.sort(), [
    '/etc/mg/client.json: $.colour: unknown key, ignored',
    '/etc/mg/client.json: $.in_stream.batch: unknown key, ignored',
    '/etc/mg/client.json: $.transport.turbo: unknown key, ignored',
    '/etc/mg/client.json: $["odd key"]: unknown key, ignored',
  ]);
});

test("a misspelled client TLS section or root certificate is refused, so TLS can't silently fall away", () => {
  const url = 'https://gw.example:8443';
  rejects(
    clientJson({ url, tsl: { root_certificate: '/ca.crt' } }),
    /\$\.tsl: unknown key \(did you mean "tls" or "ssl"\?\)/,
  );
  rejects(
    clientJson({ url, tls: { root_certifcate: '/ca.crt' } }),
    /\$\.tls\.root_certifcate: unknown key \(did you mean "root_certificate"\?\)/,
  );
  rejects(
    clientJson({ url, tls: { root_certificate: '/ca.crt', identty: {} } }),
    /\$\.tls\.identty: unknown key \(did you mean "identity"\?\)/,
  );
});

test('an operations listener on the main address is refused', () => {
  rejects(clientJson({ metrics: { port: 8081 } }), /\$\.metrics: the operations address is the main address/);
  rejects(clientJson({ ops: { port: 8081 } }), /\$\.ops: the operations address is the main address/);
  assert.deepEqual(parse(clientJson({ metrics: { ip: '127.0.0.2', port: 8081 } })).config.ops, {
    ip: '127.0.0.2',
    port: 8081,
  });
});

test('urls: several servers beside the single url; the first is also `url`', () => {
  const { config } = parse(clientJson({ url: undefined, urls: ['https://gw1:8080', 'https://gw2:8080'] }));
  assert.deepEqual(config.urls, ['https://gw1:8080', 'https://gw2:8080']);
  assert.equal(config.url, 'https://gw1:8080');
  assert.equal(parse(clientJson()).config.urls, undefined, 'a single url stays the original form');
});

test('urls: both url and urls, an empty list, a repeat, a bad or http:// entry with TLS are refused', () => {
  rejects(
    clientJson({ urls: ['http://gw2:8080'] }),
    /\$\.urls: give either "url" \(one server\) or "urls" \(several\), not both/,
  );
  rejects(clientJson({ url: undefined, urls: [] }), /\$\.urls: expected a non-empty array/);
  rejects(
    clientJson({ url: undefined, urls: ['http://a:1', 'http://b:1', 'http://a:1'] }),
    /\$\.urls\[2\]: repeats the first URL/,
  );
  // the same server spelt differently is a repeat too
  for (const [a, b] of [
    ['https://gw1:8443', 'https://gw1:8443/'],
    ['https://gw1:8443', 'https://GW1:8443'],
    ['https://gw1:443', 'https://gw1'],
    ['http://127.0.0.1:80', 'http://127.1'],
  ])
    rejects(clientJson({ url: undefined, urls: [a, b] }), /\$\.urls\[1\]: repeats the first URL/);
  rejects(
    clientJson({ url: undefined, urls: ['http://a:1', 'ftp://b'] }),
    /\$\.urls\[1\]: expected an http:\/\/ or https:\/\//,
  );
  rejects(
    clientJson({ url: undefined, urls: ['https://a:1', 'http://b:1'], tls: { root_certificate: 'ca.crt' } }),
    /\$\.urls\[1\]: TLS settings are given/,
  );
  rejects(clientJson({ url: undefined }), /\$\.url: required field is missing/);
});

test('transport.stream: a strict bool, absent by default (on)', () => {
  assert.equal(parse(clientJson()).config.transport.stream, undefined);
  assert.equal(parse(clientJson({ transport: { stream: false } })).config.transport.stream, false);
  rejects(
    clientJson({ transport: { stream: 'off' } }),
    /\$\.transport\.stream: expected true or false, found/,
  );
  rejects(clientJson({ transport: { strem: false } }), /\$\.transport\.strem/);
});
