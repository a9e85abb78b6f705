// `media-gateway users` in-process against a real etcd; the records it writes are read back by the
// Authenticator, so the CLI and the server agree on keys, formats and hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { runUsers } from '../../src/cli/users.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { loadServerConfig } from '../../src/config/server.js';
import { startEtcd, type RunningEtcd } from '../helpers/etcd.js';
import { tempDir } from '../helpers/tmp.js';
import { basic, waitForChange } from './fixtures.js';

async function writeConfig(dir: string, etcd: RunningEtcd, dataFormat: 'json' | 'yaml'): Promise<string> {
  const secs = (s: number) => ({ secs: s, nanos: 0 });
  const file = path.join(dir, `server-${dataFormat}.json`);
  await writeFile(
    file,
    JSON.stringify({
      ip: '127.0.0.1',
      port: 8080,
      out_stream: {
        url: 'pub+bind:tcp://127.0.0.1:6000',
        send_timeout: secs(1),
        send_retries: 3,
        receive_timeout: secs(1),
        receive_retries: 3,
        send_hwm: 1000,
        receive_hwm: 1000,
      },
      auth: {
        basic: {
          etcd: {
            urls: [etcd.url],
            path: `/cli-${dataFormat}`,
            data_format: dataFormat,
            lease_timeout: secs(60),
            connect_timeout: secs(30),
            cache: { size: 10 },
          },
          cache: { size: 10 },
        },
      },
    }),
  );
  return file;
}

async function users(args: string[], input = '') {
  const stdin = new PassThrough();
  stdin.end(input);
  let out = '';
  let err = '';
  const stdout = new PassThrough().on('data', (d) => (out += d));
  const stderr = new PassThrough().on('data', (d) => (err += d));
  const code = await runUsers(args, { stdin, stdout, stderr });
  return { code, out, err };
}

for (const format of ['json', 'yaml'] as const) {
  test(`users add/passwd/rm/list/show with ${format} records`, async (t) => {
    const etcd = await startEtcd(t);
    const dir = await tempDir(t);
    const cfgFile = await writeConfig(dir, etcd, format);
    const c = ['--config', cfgFile];

    let r = await users([
      ...c,
      'add',
      'alice',
      '--password',
      's3cret',
      '--labels',
      '!and [!set cam, !not {set: private}]',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out + r.err, /s3cret/);
    // password from stdin when it is not a terminal
    r = await users([...c, 'add', 'bob'], 'hunter2\n');
    assert.equal(r.code, 0, r.err);
    r = await users([...c, 'add', 'bob', '--password', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /exists already/);
    r = await users([...c, 'add', '--cert', 'edge-1', '--labels', '{"set": "edge"}']);
    assert.equal(r.code, 0, r.err);

    r = await users([...c, 'list']);
    assert.equal(r.out, 'alice\nbob\n');
    r = await users([...c, 'list', '--cert']);
    assert.equal(r.out, 'edge-1\n');
    r = await users([...c, 'show', 'alice']);
    const shown = JSON.parse(r.out);
    assert.match(shown.password_hash, /^argon2id \((?=.*m=65536)(?=.*t=3)(?=.*p=4).*\)$/);
    assert.deepEqual(shown.allowed_routing_labels, { and: [{ set: 'cam' }, { not: { set: 'private' } }] });

    // the stored text is in the configured format (YAML in the tagged form the original reads)
    const kv = new Etcd3({ hosts: etcd.url });
    t.after(() => kv.close());
    const stored = await kv.get(`/cli-${format}/alice`).string();
    if (format === 'json') assert.equal(JSON.parse(stored!).allowed_routing_labels.and[0].set, 'cam');
    else assert.match(stored!, /^allowed_routing_labels: !and \[!set "cam", /m);

    // what the CLI wrote is what the server accepts
    const { config } = await loadServerConfig(cfgFile);
    const auth = await Authenticator.open({
      basic: config.auth!.basic,
      certificateIdentity: { from: 'cn', required: true },
    });
    t.after(() => auth.close());
    assert.equal((await auth.authenticateBasic(basic('alice', 's3cret'), '127.0.0.1')).ok, true);
    assert.equal((await auth.authenticateBasic(basic('bob', 'hunter2'), '127.0.0.1')).ok, true);
    const cert = await auth.authenticateCertificate({
      subject: 'CN=edge-1',
      issuer: 'CN=ca',
      serial: '1',
      commonName: 'edge-1',
      dnsNames: [],
      uris: [],
      fingerprint256: '',
    });
    assert.deepEqual(cert, { ok: true, user: 'edge-1', rule: { set: 'edge' } });

    let seen = waitForChange(auth, 'alice');
    r = await users([...c, 'passwd', 'alice', '--password', 'n3w']);
    assert.equal(r.code, 0, r.err);
    await seen;
    assert.equal((await auth.authenticateBasic(basic('alice', 'n3w'), '127.0.0.1')).ok, true);
    assert.equal((await auth.authenticateBasic(basic('alice', 's3cret'), '127.0.0.1')).ok, false);
    assert.deepEqual(JSON.parse((await users([...c, 'show', 'alice'])).out).allowed_routing_labels.and[0], {
      set: 'cam',
    });

    seen = waitForChange(auth, 'bob');
    r = await users([...c, 'rm', 'bob']);
    assert.equal(r.code, 0, r.err);
    await seen;
    assert.equal((await auth.authenticateBasic(basic('bob', 'hunter2'), '127.0.0.1')).ok, false);
    r = await users([...c, 'rm', 'bob']);
    assert.equal(r.code, 2);
    assert.match(r.err, /no such user/);
  });
}

test('users: usage errors and --help', async (t) => {
  assert.match((await users(['--help'])).out, /Usage: media-gateway users/);
  assert.match((await users(['list'])).err, /--config <server-config> is required/);
  const etcd = await startEtcd(t);
  const dir = await tempDir(t);
  const cfgFile = await writeConfig(dir, etcd, 'json');
  let r = await users(['--config', cfgFile, 'add', 'a:b', '--password', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.err, /must not be empty or contain ":"/);
  r = await users(['--config', cfgFile, 'add', 'carol', '--password', 'x', '--labels', '{sett: a}']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--labels: expected exactly one of set, unset/);
  r = await users(['--config', cfgFile, 'frobnicate', 'x']);
  assert.match(r.err, /unknown action 'frobnicate'/);
  r = await users(['--config', cfgFile, 'passwd', '--cert', 'x', '--password', 'y']);
  assert.match(r.err, /certificate identity records have no password/);
});
