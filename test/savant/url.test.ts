// Savant socket URL grammar: the accepted forms and the errors (src/savant/url.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSocketUrl, SocketUrlError } from '../../src/savant/url.js';

test('spec table parses to endpoint, type and bind', () => {
  const cases: [string, 'reader' | 'writer', object][] = [
    [
      'ipc:///tmp/address',
      'reader',
      { type: 'router', bind: true, endpoint: 'ipc:///tmp/address', typeGiven: false },
    ],
    [
      'ipc:///tmp/address',
      'writer',
      { type: 'dealer', bind: true, endpoint: 'ipc:///tmp/address', typeGiven: false },
    ],
    [
      'tcp://1.1.1.1:1234',
      'writer',
      { type: 'dealer', bind: true, endpoint: 'tcp://1.1.1.1:1234', typeGiven: false },
    ],
    [
      'pub+bind:tcp://1.1.1.1:1234',
      'writer',
      { type: 'pub', bind: true, endpoint: 'tcp://1.1.1.1:1234', typeGiven: true },
    ],
    [
      'pub+bind:tcp://1.1.1.1:1234:source',
      'writer',
      { type: 'pub', bind: true, endpoint: 'tcp://1.1.1.1:1234', source: 'source', typeGiven: true },
    ],
    [
      'pub+bind:ipc:///a/b/c:source',
      'writer',
      { type: 'pub', bind: true, endpoint: 'ipc:///a/b/c', source: 'source', typeGiven: true },
    ],
    [
      'sub+connect:ipc://tmp/test',
      'reader',
      { type: 'sub', bind: false, endpoint: 'ipc://tmp/test', typeGiven: true },
    ],
    [
      'rep+bind:tcp://127.0.0.1:2345',
      'reader',
      { type: 'rep', bind: true, endpoint: 'tcp://127.0.0.1:2345', typeGiven: true },
    ],
    ['tcp://*:5555', 'reader', { type: 'router', bind: true, endpoint: 'tcp://*:5555', typeGiven: false }],
    [
      'req+connect:tcp://localhost:1',
      'writer',
      { type: 'req', bind: false, endpoint: 'tcp://localhost:1', typeGiven: true },
    ],
    [
      'dealer+connect:ipc:///x',
      'writer',
      { type: 'dealer', bind: false, endpoint: 'ipc:///x', typeGiven: true },
    ],
    [
      'router+connect:ipc:///x',
      'reader',
      { type: 'router', bind: false, endpoint: 'ipc:///x', typeGiven: true },
    ],
  ];
  for (const [url, role, expected] of cases) assert.deepEqual(parseSocketUrl(url, role), expected, url);
});

test('wrong role gets "Invalid socket type for ..."', () => {
  for (const t of ['pub', 'req', 'dealer']) {
    assert.throws(
      () => parseSocketUrl(`${t}+bind:ipc:///tmp/a`, 'reader'),
      /Invalid socket type for reader: /,
    );
  }
  for (const t of ['sub', 'rep', 'router']) {
    assert.throws(
      () => parseSocketUrl(`${t}+connect:tcp://h:1`, 'writer'),
      /Invalid socket type for writer: /,
    );
  }
});

test('malformed URLs are rejected with an error naming the URL', () => {
  const bad = [
    '',
    'sub+bind:udp://a',
    'inproc://x',
    'pub+bind:tcp://h',
    'tcp://h:',
    'tcp://h:1234abc',
    'tcp://h:1234:',
    'tcp://h:99999',
    'tcp://:1',
    'ipc://',
    'ipc:foo',
    'garbage tcp://h:1',
    'PUB+bind:tcp://h:1',
    'pub:tcp://h:1',
    ' tcp://h:1',
  ];
  for (const url of bad) {
    assert.throws(
      () => parseSocketUrl(url, 'writer'),
      (err: Error) => err instanceof SocketUrlError && err.message.includes(url),
      JSON.stringify(url),
    );
  }
});

test('unknown options prefix: "Invalid socket options"', () => {
  for (const url of [
    'pub+foo:tcp://h:1',
    'foo+bind:tcp://h:1',
    'xpub+bind:tcp://h:1',
    'xsub+connect:ipc:///a',
  ]) {
    assert.throws(() => parseSocketUrl(url, 'writer'), /Invalid socket options .*\+.*:/, url);
  }
});

test('IPv6 literals are refused with a clear message', () => {
  assert.throws(() => parseSocketUrl('tcp://[::1]:5555', 'reader'), /IPv6 addresses are not supported/);
  assert.throws(
    () => parseSocketUrl('pub+bind:tcp://[::1]:5555', 'writer'),
    /IPv6 addresses are not supported/,
  );
});

test(':source only for explicitly typed writer URLs', () => {
  assert.throws(
    () => parseSocketUrl('sub+bind:ipc:///tmp/a:b', 'reader'),
    /Source specification is not allowed/,
  );
  assert.throws(() => parseSocketUrl('tcp://h:1:src', 'writer'), /Source specification is not allowed/);
  assert.throws(() => parseSocketUrl('tcp://h:1:src', 'reader'), /Source specification is not allowed/);
  assert.equal(parseSocketUrl('pub+bind:ipc:///tmp/a:b', 'writer').endpoint, 'ipc:///tmp/a');
});
