// Every configuration of the original Media Gateway 0.2.0 must load unchanged (compat/original-samples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadClientConfig } from '../../src/config/client.js';
import { loadServerConfig } from '../../src/config/server.js';
import { checkReferencedFiles } from '../../src/config/check.js';
import { tempDir } from '../helpers/tmp.js';
import { DEFAULT_IN_STREAM, DEFAULT_OUT_STREAM, listSamples, stageSample } from './fixtures.js';

const samples = await listSamples();

test('the sample set is complete (6 client, 5 server, 2 e2e)', () => {
  assert.equal(samples.length, 13);
});

for (const sample of samples) {
  test(`original sample ${sample.name} loads and its referenced files check out`, async (t) => {
    const dir = await tempDir(t);
    const file = await stageSample(sample, dir);
    const { config, warnings } =
      sample.kind === 'server' ? await loadServerConfig(file, {}) : await loadClientConfig(file, {});
    assert.equal(config.source, file);
    assert.equal(config.ip, '0.0.0.0');
    await checkReferencedFiles(config);
    const expectedWarnings: Record<string, string[]> = {
      'server/certificate_auth_config.json': [
        `${file}: $.out_stream.inflight_ops: accepted for compatibility and ignored: the server has no in-flight queue`,
      ],
      'client/basic_auth_config.json': [
        `${file}: $.url: Basic auth credentials will be sent in clear text over http://`,
      ],
    };
    assert.deepEqual(warnings, expectedWarnings[sample.name] ?? []);
  });
}

test('server samples normalise to the values they spell', async (t) => {
  const dir = await tempDir(t);
  const byName = new Map(samples.map((s) => [s.name, s]));
  const load = async (name: string) =>
    (await loadServerConfig(await stageSample(byName.get(name)!, dir), {})).config;

  const def = await load('server/default_config.json');
  assert.deepEqual(def.outStream, DEFAULT_OUT_STREAM);
  assert.equal(def.port, 8080);
  assert.equal(def.maxBodySize, 64 * 1024 * 1024);
  assert.equal(def.tls, undefined);
  assert.equal(def.auth, undefined);

  const certAuth = await load('server/certificate_auth_config.json');
  assert.deepEqual(certAuth.tls, {
    certificate: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
    clientAuth: {
      directory: path.join(dir, 'lookup-hash-dir'),
      crlEnabled: true,
      pollIntervalMs: 1000,
      crlExpiryWarningMs: 24 * 3600 * 1000,
    },
  });
  assert.equal(certAuth.outStream.fixIpcPermissions, undefined);

  const basic = await load('server/basic_auth_config.json');
  const cache = { size: 10, usage: { periodMs: 60_000, evictedThreshold: 10 } };
  assert.deepEqual(basic.auth, {
    basic: {
      etcd: {
        urls: ['https://etcd:2379'],
        tls: {
          rootCertificate: path.join(dir, 'etcd-ca.crt'),
          identity: {
            certificate: path.join(dir, 'etcd-client.crt'),
            key: path.join(dir, 'etcd-client.key'),
          },
        },
        path: '/users',
        dataFormat: 'json',
        leaseTimeoutMs: 60_000,
        connectTimeoutMs: 30_000,
        cache,
      },
      cache,
      quarantine: { periodMs: 60_000, failedAttemptLimit: 3 },
    },
  });

  assert.deepEqual((await load('server/statistics_config.json')).statistics, { timestampPeriodMs: 1000 });
});

test('client samples normalise to the values they spell, with the documented defaults', async (t) => {
  const dir = await tempDir(t);
  const byName = new Map(samples.map((s) => [s.name, s]));
  const load = async (name: string, env: NodeJS.ProcessEnv = {}) =>
    (await loadClientConfig(await stageSample(byName.get(name)!, dir), env)).config;

  const def = await load('client/default_config.json');
  assert.equal(def.url, 'http://localhost:8080');
  assert.equal(
    (await load('client/default_config.json', { GATEWAY_URL: 'https://gw:1' })).url,
    'https://gw:1',
  );
  assert.deepEqual(def.inStream, DEFAULT_IN_STREAM);
  assert.deepEqual(def.retry, { initialDelayMs: 1, maximumDelayMs: 1000, multiplier: 2 });
  assert.deepEqual(def.waitStrategy, { kind: 'sleep', ms: 1 });
  assert.deepEqual(def.transport, {
    mode: 'auto',
    lanes: 4,
    maxBatchMessages: 256,
    maxBatchBytes: 8 * 1024 * 1024,
    requestTimeoutMs: 30_000,
  });
  assert.equal(def.deadLetterDir, path.join(dir, 'dead-letter'));
  assert.equal(def.shutdownTimeoutMs, 10_000);

  assert.deepEqual((await load('client/certificate_auth_config.json')).tls, {
    rootCertificate: path.join(dir, 'ca.crt'),
    identity: { certificate: path.join(dir, 'client.crt'), key: path.join(dir, 'client.key') },
  });
  assert.deepEqual((await load('client/https_self_signed_config.json')).tls, {
    rootCertificate: path.join(dir, 'server.crt'),
  });
  assert.deepEqual((await load('client/basic_auth_config.json')).auth, {
    basic: { username: 'user', password: 'password' },
  });
  assert.deepEqual((await load('client/statistics_config.json')).statistics, { framePeriod: 1000 });
  const e2e = await load('e2e/client_config.json');
  assert.equal(e2e.inStream.url, 'rep+bind:ipc:///tmp/socket/client');
  assert.deepEqual(e2e.statistics, { timestampPeriodMs: 1000 });
});
