// The embedded default configurations (used without a config file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { defaultClientConfig, defaultServerConfig } from '../../src/config/defaults.js';
import { DEFAULT_IN_STREAM, DEFAULT_OUT_STREAM } from './fixtures.js';

test('default server: the original sample on 127.0.0.1', () => {
  const cfg = defaultServerConfig();
  assert.equal(cfg.source, undefined);
  assert.equal(cfg.ip, '127.0.0.1');
  assert.equal(cfg.port, 8080);
  assert.deepEqual(cfg.outStream, DEFAULT_OUT_STREAM);
  assert.equal(cfg.maxBodySize, 64 * 1024 * 1024);
});

test('default client: the original sample on 127.0.0.1; GATEWAY_URL chooses the server', () => {
  const cfg = defaultClientConfig({});
  assert.equal(cfg.ip, '127.0.0.1');
  assert.equal(cfg.port, 8081);
  assert.equal(cfg.url, 'http://127.0.0.1:8080');
  assert.deepEqual(cfg.inStream, DEFAULT_IN_STREAM);
  assert.equal(cfg.deadLetterDir, path.resolve('dead-letter'));
  assert.equal(defaultClientConfig({ GATEWAY_URL: 'https://gw.example:443' }).url, 'https://gw.example:443');
  assert.throws(
    () => defaultClientConfig({ GATEWAY_URL: 'gw:1' }),
    /\$\.url: expected an http:\/\/ or https:\/\//,
  );
});
