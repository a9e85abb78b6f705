// checkReferencedFiles: every file a configuration names must be readable, the hash directory a directory;
// the error names the configuration file, the field as the operator wrote it, and the missing file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkReferencedFiles } from '../../src/config/check.js';
import { loadClientConfig } from '../../src/config/client.js';
import { defaultClientConfig, defaultServerConfig } from '../../src/config/defaults.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadServerConfig } from '../../src/config/server.js';
import { tempDir } from '../helpers/tmp.js';
import { clientJson, serverJson } from './fixtures.js';

async function expectCheckError(
  cfg: Parameters<typeof checkReferencedFiles>[0],
  message: RegExp,
  field: string,
) {
  await assert.rejects(checkReferencedFiles(cfg), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.path, field);
    assert.match(err.message, message);
    return true;
  });
}

/** Writes a configuration file into `dir` and loads it (a server or client config, by the file name). */
async function loadWritten(dir: string, name: 'server.json' | 'client.json', text: string) {
  const file = path.join(dir, name);
  await writeFile(file, text);
  const { config } =
    name === 'server.json' ? await loadServerConfig(file, {}) : await loadClientConfig(file, {});
  return { file, config };
}

test('server, seed form: a missing key file is named with its ssl field', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 's.crt'), 'x');
  await mkdir(path.join(dir, 'store'));
  const { file, config } = await loadWritten(
    dir,
    'server.json',
    serverJson({
      ssl: {
        server: { certificate: 's.crt', certificate_key: 's.key' },
        client: { certificate_directory: 'store' },
      },
    }),
  );
  await expectCheckError(
    config,
    new RegExp(
      `^${file}: \\$\\.ssl\\.server\\.certificate_key: server private key ${path.join(dir, 's.key')}: does not exist$`,
    ),
    '$.ssl.server.certificate_key',
  );
  await writeFile(path.join(dir, 's.key'), 'x');
  await checkReferencedFiles(config);
});

test('server, original form: the hash directory must exist and be a directory', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 's.crt'), 'x');
  await writeFile(path.join(dir, 's.key'), 'x');
  await writeFile(path.join(dir, 'hashdir'), 'not a directory');
  const { config } = await loadWritten(
    dir,
    'server.json',
    serverJson({
      tls: {
        identity: { certificate: 's.crt', key: 's.key' },
        peers: { lookup_hash_directory: 'hashdir', crl_enabled: true },
      },
    }),
  );
  await expectCheckError(
    config,
    /trusted CA hash directory .*hashdir: is not a directory$/,
    '$.tls.peers.lookup_hash_directory',
  );
});

test('server: etcd TLS files are checked; a directory in place of a file is refused', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'etcd-ca.crt'));
  const { config } = await loadWritten(
    dir,
    'server.json',
    serverJson({
      auth: {
        basic: {
          etcd: {
            urls: ['https://127.0.0.1:2379'],
            tls: { root_certificate: 'etcd-ca.crt' },
            path: '/users',
            data_format: 'json',
            lease_timeout: [60, 0],
            connect_timeout: [30, 0],
            cache: { size: 10 },
          },
          cache: { size: 10 },
        },
      },
    }),
  );
  await expectCheckError(
    config,
    /etcd root certificate .*etcd-ca\.crt: is not a regular file$/,
    '$.auth.basic.etcd.tls.root_certificate',
  );
});

test('client: root certificate and identity files are checked', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'ca.crt'), 'x');
  await writeFile(path.join(dir, 'c.crt'), 'x');
  const { config } = await loadWritten(
    dir,
    'client.json',
    clientJson({
      url: 'https://gw',
      ssl: { server: { certificate: 'ca.crt' }, client: { certificate: 'c.crt', certificate_key: 'c.key' } },
    }),
  );
  await expectCheckError(
    config,
    /client private key .*c\.key: does not exist$/,
    '$.ssl.client.certificate_key',
  );
  await writeFile(path.join(dir, 'c.key'), 'x');
  await checkReferencedFiles(config);
});

test('an unreadable configuration file is a ConfigError naming it', async () => {
  await assert.rejects(loadClientConfig('/nonexistent/client.json', {}), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, '/nonexistent/client.json: cannot read the configuration file (no such file)');
    return true;
  });
});

test('a configuration that names no files passes', async () => {
  await checkReferencedFiles(defaultServerConfig({}));
  await checkReferencedFiles(defaultClientConfig({}));
});
