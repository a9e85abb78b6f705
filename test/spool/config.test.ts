// The client's `spool` section and `in_stream.ack: "on_persist"`: defaults, every key validated like the rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientConfig } from '../../src/config/client.js';
import { clientJson, expectConfigError } from '../config/fixtures.js';

const opts = { file: '/etc/mg/client.json', env: {} };
const parse = (text: string) => parseClientConfig(text, opts);

test('a spool with only dir gets the documented defaults; a relative dir is taken from the file', () => {
  const { config, warnings } = parse(clientJson({ spool: { dir: 'spool' } }));
  assert.deepEqual(config.spool, {
    dir: '/etc/mg/spool',
    maxBytes: 1024 ** 3,
    whenFull: 'block',
    sync: 'periodic',
    syncIntervalMs: 1000,
    memoryBytes: 32 * 1024 * 1024,
  });
  assert.deepEqual(warnings, []);
});

test('without a spool section nothing changes', () => {
  assert.equal(parse(clientJson()).config.spool, undefined);
});

test('every spool key is read and checked', () => {
  const { config } = parse(
    clientJson({
      spool: {
        dir: '/var/spool/mg',
        max_bytes: 8 * 1024 * 1024,
        when_full: 'drop_oldest',
        sync: 'always',
        sync_interval: { secs: 0, nanos: 200_000_000 },
        memory_bytes: 4 * 1024 * 1024,
      },
    }),
  );
  assert.equal(config.spool?.memoryBytes, 4 * 1024 * 1024);
  assert.equal(config.spool?.whenFull, 'drop_oldest');
  assert.equal(config.spool?.sync, 'always');
  assert.equal(config.spool?.syncIntervalMs, 200);
  expectConfigError(() => parse(clientJson({ spool: {} })), /\$\.spool\.dir: required field is missing/);
  expectConfigError(
    () => parse(clientJson({ spool: { dir: '/x', when_full: 'drop' } })),
    /\$\.spool\.when_full: expected one of "block", "drop_oldest", "drop_newest", found "drop"/,
  );
  expectConfigError(
    () => parse(clientJson({ spool: { dir: '/x', sync: 'fsync' } })),
    /\$\.spool\.sync: expected one of "always", "periodic", "never"/,
  );
  expectConfigError(
    () => parse(clientJson({ spool: { dir: '/x', max_bytes: 1000 } })),
    /\$\.spool\.max_bytes: expected an integer ≥ 4194304, found 1000/,
  );
  expectConfigError(
    () => parse(clientJson({ spool: { dir: '/x', memory_bytes: 1000 } })),
    /\$\.spool\.memory_bytes: expected an integer ≥ 1048576, found 1000/,
  );
});

test('an unknown spool key is refused by name, a near miss with a suggestion', () => {
  expectConfigError(
    () => parse(clientJson({ spool: { dir: '/x', colour: 5 } })),
    /\$\.spool\.colour: unknown key \(remove it/,
  );
  expectConfigError(
    () => parse(clientJson({ spool: { dir: '/x', max_byte: 5 } })),
    /\$\.spool\.max_byte: unknown key \(did you mean "max_bytes"\?\)/,
  );
});

test('ack "on_persist" needs a spool', () => {
  expectConfigError(
    () => parse(clientJson({}, { ack: 'on_persist' })),
    /\$\.in_stream\.ack: "on_persist" acknowledges once a message is in the spool: configure a "spool" section/,
  );
  const { config } = parse(clientJson({ spool: { dir: '/x' } }, { ack: 'on_persist' }));
  assert.equal(config.inStream.ack, 'on_persist');
});
