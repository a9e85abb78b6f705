// End to end through the built CLI (bin/media-gateway → dist/; build with `npx tsc -p tsconfig.json`
// first): the seed's scenario with our commands, exit codes, messages and --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { generatePrivateKey, privateKeyPem } from '../../src/pki/keys.js';
import { openssl, opensslOk } from './helpers.js';

test('the seed scenario through the CLI: CA, server and client, publish, revoke, republish', async (t) => {
  const tmp = await tempDir(t);
  const ok = async (args: string[]) => {
    const r = await runCli(args, { cwd: tmp });
    assert.equal(r.code, 0, `${args.join(' ')}\n${r.stderr}`);
    return r.stdout;
  };
  await ok(['pki', 'init', 'ca', '--key', 'ec', '--cn', 'ca.example.com']);
  await ok([
    'pki',
    'issue',
    'server',
    'server',
    '--ca',
    'ca',
    '--key',
    'ec',
    '--cn',
    'server.example.com',
    '--san',
    'IP:127.0.0.1,IP:192.168.0.100',
  ]);
  await ok(['pki', 'issue', 'client', 'client', '--ca', 'ca', '--key', 'ec', '--cn', 'client.example.com']);
  await mkdir(path.join(tmp, 'store'));
  assert.match(
    await ok(['pki', 'crl', '--ca', 'ca', '--publish', 'store']),
    /published .*store\/[0-9a-f]{8}\.r0/,
  );
  const verify = (f: string) => openssl(['verify', '-crl_check_all', '-CApath', 'store', f], { cwd: tmp });
  assert.equal((await verify('ca/certs/client.crt')).code, 0);
  assert.equal((await verify('ca/certs/server.crt')).code, 0);

  assert.match(
    await ok(['pki', 'revoke', 'ca/certs/client.crt', '--ca', 'ca', '--reason', 'keyCompromise']),
    /revoked serial 02/,
  );
  assert.match(await ok(['pki', 'crl', '--ca', 'ca', '--publish', 'store']), /\.r1/);
  assert.match(
    (await verify('ca/certs/client.crt')).stdout + (await verify('ca/certs/client.crt')).stderr,
    /certificate revoked/,
  );
  assert.equal((await verify('ca/certs/server.crt')).code, 0);

  const list = await ok(['pki', 'list', '--ca', 'ca']);
  assert.match(list, /valid\s+01\s+.*\/CN=server.example.com/);
  assert.match(list, /revoked\s+02\s+.*keyCompromise\s+\/CN=client.example.com/);
  const json = JSON.parse(await ok(['pki', 'list', '--json'].concat(['--ca', 'ca']))) as { status: string }[];
  assert.deepEqual(
    json.map((j) => j.status),
    ['valid', 'revoked'],
  );
  // --ca defaults to the current directory
  const inCa = await runCli(['pki', 'list'], { cwd: path.join(tmp, 'ca') });
  assert.equal(inCa.code, 0);

  // two CRLs published; the newer (with the revocation) supersedes the older (src/trust/floors.ts)
  assert.match(await ok(['store', 'doctor', 'store']), /OK \(1 CA certificate\(s\), 1 CRL\(s\) in force\)/);
  const hash = await ok(['store', 'hash', 'ca/ca.crt']);
  assert.equal(hash, await opensslOk(['x509', '-in', 'ca/ca.crt', '-noout', '-subject_hash'], { cwd: tmp }));
  assert.match(
    await ok(['store', 'renew-crls', 'ca', 'store', '--if-expiring-within', '7d']),
    /nothing to do/,
  );
  assert.match(
    await ok(['store', 'renew-crls', 'ca', 'store', '--if-expiring-within', '31d']),
    /published .*\.r2/,
  );
});

test('CLI errors: clear messages and non-zero exit codes', async (t) => {
  const tmp = await tempDir(t);
  const cli = (args: string[]) => runCli(args, { cwd: tmp });
  let r = await cli(['pki', 'list', '--ca', 'missing']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /CA directory .*missing does not exist/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace for operator errors');

  assert.equal((await cli(['pki', 'init', 'ca', '--key', 'ec'])).code, 0);
  r = await cli(['pki', 'revoke', 'FFFF', '--ca', 'ca']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown serial/);
  assert.equal((await cli(['pki', 'issue', 'client', 'c', '--ca', 'ca', '--key', 'ec'])).code, 0);
  const cert = await readFile(path.join(tmp, 'ca/certs/c.crt'), 'utf8');
  r = await cli(['pki', 'issue', 'client', 'c', '--ca', 'ca', '--key', 'ec']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already exists \(use --force/);
  assert.equal(await readFile(path.join(tmp, 'ca/certs/c.crt'), 'utf8'), cert);
  assert.equal((await cli(['pki', 'issue', 'client', 'c', '--ca', 'ca', '--key', 'ec', '--force'])).code, 0);

  r = await cli(['pki', 'issue', 'client', 'c', '--ca', 'ca', '--bogus']);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "media-gateway pki issue: unknown option '--bogus' (see 'media-gateway pki issue --help')\n",
  );
  r = await cli(['pki', 'issue', 'robot', 'x', '--ca', 'ca']);
  assert.equal(r.code, 2);
  r = await cli(['store', 'renew-crls', 'ca', 'store']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--if-expiring-within is required/);

  // a leaf certificate is refused by store add, with the reason
  await mkdir(path.join(tmp, 'store'));
  r = await cli(['store', 'add', 'store', 'ca/certs/c.crt']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not a CA certificate/);
  // doctor: empty directory is an error (exit 2), JSON output parses
  r = await cli(['store', 'doctor', 'store', '--json']);
  assert.equal(r.code, 2);
  assert.equal((JSON.parse(r.stdout) as { problems: { code: string }[] }).problems[0].code, 'no_ca');
  r = await cli(['store', 'add', 'store', 'ca/ca.crt']);
  assert.equal(r.code, 0);
  r = await cli(['store', 'doctor', 'store', '--warn-within', '2d']);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /ca_without_crl/);

  await writeFile(path.join(tmp, 'ca/ca.key'), privateKeyPem(await generatePrivateKey('ec')));
  r = await cli(['pki', 'crl', '--ca', 'ca']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /CA key .* does not match CA certificate/);
});

test('every command and subcommand answers --help with exit 0', async () => {
  const cases = [
    ['pki', '--help'],
    ['store', '--help'],
    ...['init', 'issue', 'revoke', 'crl', 'list'].map((s) => ['pki', s, '--help']),
    ...['add', 'hash', 'doctor', 'renew-crls'].map((s) => ['store', s, '--help']),
  ];
  const results = await Promise.all(cases.map((c) => runCli(c)));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, cases[i].join(' '));
    assert.match(r.stdout, /Usage: media-gateway (pki|store)/);
  });
});
