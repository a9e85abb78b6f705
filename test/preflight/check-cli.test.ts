// `--check` proves the start (src/preflight/): each configuration that used to pass `--check` and then failed at
// start-up, or started and refused everyone, is refused by the real CLI with the JSON path of the field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { clientJson, serverJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { buildLabPki, type LabPki } from '../helpers/openssl-pki.js';
import { tempDir } from '../helpers/tmp.js';
import { issueCertificate, initCa } from '../../src/pki/index.js';

let base: string;
let lab: LabPki;
let trustDir: string;

before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-preflight-'));
  lab = buildLabPki(path.join(base, 'lab'));
  trustDir = path.join(base, 'trust');
  mkdirSync(trustDir);
  writeFileSync(path.join(trustDir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(trustDir, `${lab.inter.hash}.0`), lab.inter.certPem);
  writeFileSync(path.join(trustDir, `${lab.root.hash}.r0`), lab.crl(lab.root));
  writeFileSync(path.join(trustDir, `${lab.inter.hash}.r0`), lab.crl(lab.inter));
});
after(() => rmSync(base, { recursive: true, force: true }));

interface Tls {
  certificate: string;
  key: string;
  directory?: string;
}

const tls = ({ certificate, key, directory }: Tls) => ({
  identity: { certificate, key },
  ...(directory ? { peers: { lookup_hash_directory: directory, crl_enabled: true } } : {}),
});

/** A server configuration on a free port with its ipc socket in `dir`. */
async function serverConfig(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(dir, 'server.json');
  const port = await freePort();
  writeFileSync(file, serverJson({ port, ...extra }, { url: `pub+bind:ipc://${dir}/out` }));
  return file;
}

async function check(half: 'server' | 'client', file: string) {
  const r = await runCli([half, file, '--check']);
  return { ...r, ok: r.code === 0 && /configuration OK/.test(r.stdout) };
}

const good = (): Tls => ({ certificate: lab.server.certFile, key: lab.server.keyFile, directory: trustDir });

test('the lab configuration itself passes (so each refusal below is about its one change)', async (t) => {
  const r = await check('server', await serverConfig(await tempDir(t), { tls: tls(good()) }));
  assert.ok(r.ok, r.stderr);
});

test('"ssl" misspelled as "tsl" is refused with a suggestion instead of starting plain HTTP', async (t) => {
  const dir = await tempDir(t);
  const ssl = { server: { certificate: lab.server.certFile, certificate_key: lab.server.keyFile } };
  const r = await check('server', await serverConfig(dir, { tsl: ssl }));
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^media-gateway server: .*server\.json: \$\.tsl: unknown key \(did you mean "tls" or "ssl"\?\)$/m,
  );
  assert.doesNotMatch(r.stdout, /configuration OK/);
});

test("the client's misspelled tls / root_certificate are refused", async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'client.json');
  const url = 'https://127.0.0.1:8443';
  writeFileSync(file, clientJson({ url, tsl: { root_certificate: lab.server.certFile } }));
  let r = await check('client', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.tsl: unknown key \(did you mean "tls" or "ssl"\?\)/);
  writeFileSync(file, clientJson({ url, tls: { root_certifcate: lab.server.certFile } }));
  r = await check('client', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.tls\.root_certifcate: unknown key \(did you mean "root_certificate"\?\)/);
});

test('--allow-unknown-keys turns unknown keys into warnings', async (t) => {
  const file = await serverConfig(await tempDir(t), { deployment_note: 'x' });
  const strict = await check('server', file);
  assert.equal(strict.code, 1);
  const r = await runCli(['server', file, '--check', '--allow-unknown-keys']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\$\.deployment_note: unknown key, ignored/);
});

test('a certificate/key mismatch names the key field', async (t) => {
  const mismatch = { ...good(), key: lab.clients.good.keyFile };
  const r = await check('server', await serverConfig(await tempDir(t), { tls: tls(mismatch) }));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.tls\.identity\.key: the key in .* does not match the certificate/);
});

test('a key file given as the certificate is named as such', async (t) => {
  const swapped = { ...good(), certificate: lab.server.keyFile };
  const r = await check('server', await serverConfig(await tempDir(t), { tls: tls(swapped) }));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.tls\.identity\.certificate: .* holds a private key, not a certificate/);
});

test('an expired server certificate: --check and start-up refuse it with the same message', async (t) => {
  const expired = { ...good(), certificate: lab.clients.expired.certFile, key: lab.clients.expired.keyFile };
  const file = await serverConfig(await tempDir(t), { tls: tls(expired) });
  const r = await check('server', file);
  assert.equal(r.code, 1);
  const line =
    /\$\.tls\.identity\.certificate: server certificate ".*client-expired.*" expired on 2021-01-01T00:00:00\.000Z.*/;
  assert.match(r.stderr, line);
  const started = await runCli(['server', file], { timeoutMs: 60_000 });
  assert.equal(started.code, 1);
  assert.equal(started.stderr.match(line)?.[0], r.stderr.match(line)?.[0]);
});

test('a certificate expiring within 14 days is a warning, not an error', async (t) => {
  const dir = await tempDir(t);
  await initCa(path.join(dir, 'ca'), { cn: 'Soon CA' });
  const soon = await issueCertificate(path.join(dir, 'ca'), 'server', 'soon', {
    days: 5,
    san: ['IP:127.0.0.1'],
  });
  const r = await check(
    'server',
    await serverConfig(dir, { tls: tls({ certificate: soon.certPath, key: soon.keyPath }) }),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /\$\.tls\.identity\.certificate: server certificate ".*soon.*" expires on .*: renew it/,
  );
});

test('a CA without a CRL in the trust directory refuses the start, naming the file', async (t) => {
  const dir = await tempDir(t);
  const noCrl = path.join(dir, 'trust');
  mkdirSync(noCrl);
  writeFileSync(path.join(noCrl, `${lab.ca2.hash}.0`), lab.ca2.certPem);
  const r = await check('server', await serverConfig(dir, { tls: tls({ ...good(), directory: noCrl }) }));
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`\\$\\.tls\\.peers\\.lookup_hash_directory: .*ca_without_crl: .*${lab.ca2.hash}\\.r0`),
  );
});

test('an empty trust directory refuses the start (no usable CA)', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(path.join(dir, 'empty'));
  const r = await check(
    'server',
    await serverConfig(dir, { tls: tls({ ...good(), directory: path.join(dir, 'empty') }) }),
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no_ca: .* holds no usable CA certificate/);
});

test('a listen port in use is reported by --check', async (t) => {
  const dir = await tempDir(t);
  const squatter = net.createServer().listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  t.after(() => squatter.close());
  const port = (squatter.address() as net.AddressInfo).port;
  const file = path.join(dir, 'server.json');
  writeFileSync(file, serverJson({ port }, { url: `pub+bind:ipc://${dir}/out` }));
  const r = await check('server', file);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `\\$\\.port: listen address 127\\.0\\.0\\.1:${port} cannot be bound: the address is already in use`,
    ),
  );
});

test('a bad IP is refused at the ip field', async (t) => {
  for (const ip of ['300.1.1.1', '127.0.0.1x:', '10.0.0']) {
    const r = await check('server', await serverConfig(await tempDir(t), { ip }));
    assert.equal(r.code, 1, ip);
    assert.match(r.stderr, /\$\.ip: expected an IP address .* or a host name/, ip);
  }
});

test('an ipc path too long for a Unix socket names the URL field', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'server.json');
  writeFileSync(
    file,
    serverJson({ port: await freePort() }, { url: `pub+bind:ipc:///tmp/${'x'.repeat(120)}` }),
  );
  const r = await check('server', file);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /\$\.out_stream\.url: the ipc path \/tmp\/x+ is 125 bytes long; a Unix socket path holds at most 107/,
  );
});

test('a dead_letter_dir that is a file is refused', async (t) => {
  const dir = await tempDir(t);
  const notDir = path.join(dir, 'dead-letter');
  writeFileSync(notDir, 'a file');
  const file = path.join(dir, 'client.json');
  writeFileSync(
    file,
    clientJson({ port: await freePort(), dead_letter_dir: notDir }, { url: `sub+bind:ipc://${dir}/in` }),
  );
  const r = await check('client', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.dead_letter_dir: dead-letter directory: .*dead-letter is not a directory/);
});

test('an ipc endpoint another live process serves is reported by --check', async (t) => {
  const dir = await tempDir(t);
  const squatter = net.createServer().listen(path.join(dir, 'out'));
  await once(squatter, 'listening');
  t.after(() => squatter.close());
  const r = await check('server', await serverConfig(dir));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.out_stream\.url: ipc endpoint pub\+bind:ipc:\/\/.*\/out is in use/);
});

test('a certificate path to an endless /proc file is a clear error, read only up to a bound', async (t) => {
  const r = await check(
    'server',
    await serverConfig(await tempDir(t), { tls: tls({ ...good(), certificate: '/proc/self/pagemap' }) }),
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /certificate file \/proc\/self\/pagemap is larger than 1048576 bytes/);
});

test('two fields naming one address are caught by --check, as start-up would fail on them (red-team finding)', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const file = path.join(dir, 'server.json');
  writeFileSync(
    file,
    serverJson(
      { ip: 'localhost', port, ops: { ip: '127.0.0.1', port } },
      { url: `pub+bind:ipc://${dir}/out` },
    ),
  );
  let r = await check('server', file);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`\\$\\.ops\\.port: operations address 127\\.0\\.0\\.1:${port} cannot be bound`),
  );
  writeFileSync(file, serverJson({ port }, { url: `pub+bind:tcp://127.0.0.1:${port}` }));
  r = await check('server', file);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`\\$\\.out_stream\\.url: ZeroMQ endpoint 127\\.0\\.0\\.1:${port} cannot be bound`),
  );
});

test('an ipc path that is a directory or another file is refused by --check as by start-up (red-team finding)', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(path.join(dir, 'out'));
  let r = await check('server', await serverConfig(dir));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.out_stream\.url: ipc path .*\/out is a directory/);
  const other = await tempDir(t);
  writeFileSync(path.join(other, 'out'), 'precious');
  r = await check('server', await serverConfig(other));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\$\.out_stream\.url: ipc path .*\/out exists and is not a socket/);
});
