// One command-line style across commands, run as an operator runs them (bin/media-gateway as a child
// process): `--version` everywhere, `--config FILE` and the positional form for both halves, every user
// error one `media-gateway <command>:` line with a non-zero exit and no stack trace, configuration
// warnings printed alike by both halves, and an unreachable etcd explained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { packageVersion } from '../../src/util/version.js';
import { runCli } from '../helpers/cli.js';
import { clientJson, serverJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const COMMANDS = ['server', 'client', 'demo', 'pki', 'store', 'users', 'bench'];
const STACK_LINE = /^\s+at /m;

function assertOneErrorLine(r: { code: number | null; stderr: string }, prog: string): void {
  assert.notEqual(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, STACK_LINE);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].startsWith(`${prog}: `), lines[0]);
}

test('--version: the same line from the top level and from every command, exit 0', async () => {
  const want = new RegExp(
    `^media-gateway ${packageVersion().replace(/\./g, '\\.')} \\(node ${process.versions.node}, libzmq \\d+\\.\\d+\\.\\d+\\)\\n$`,
  );
  for (const args of [['--version'], ['-V'], ...COMMANDS.map((c) => [c, '--version'])]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, want, args.join(' '));
  }
});

test('both halves take the configuration as --config FILE, -c FILE or FILE', async (t) => {
  const dir = await tempDir(t, 'mg-cli-');
  const files = { server: path.join(dir, 'server.json'), client: path.join(dir, 'client.json') };
  await writeFile(files.server, serverJson());
  await writeFile(files.client, clientJson());
  for (const half of ['server', 'client'] as const) {
    for (const args of [['--config', files[half]], ['-c', files[half]], [files[half]]]) {
      const r = await runCli([half, ...args, '--check']);
      assert.equal(r.code, 0, `${half} ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, 'configuration OK\n');
    }
    const both = await runCli([half, '--config', files[half], files[half], '--check']);
    assertOneErrorLine(both, `media-gateway ${half}`);
    assert.match(both.stderr, /expected one configuration file, got 2/);
  }
});

test('an unknown option is one line naming the command, for every command', async () => {
  for (const cmd of COMMANDS) {
    const r = await runCli([cmd, '--no-such-option']);
    assertOneErrorLine(r, `media-gateway ${cmd}`);
    assert.match(r.stderr, /'--no-such-option'/, cmd);
  }
  const unknown = await runCli(['no-such-command']);
  assertOneErrorLine(unknown, 'media-gateway');
});

test('a client that cannot start (its status port is taken) ends in one line, not a stack trace', async (t) => {
  const dir = await tempDir(t, 'mg-cli-');
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => taken.close(resolve)));
  const port = (taken.address() as AddressInfo).port;
  const file = path.join(dir, 'client.json');
  await writeFile(file, clientJson({ port }, { url: `router+bind:ipc://${path.join(dir, 'in')}` }));
  const r = await runCli(['client', file], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, STACK_LINE);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('media-gateway client: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /^media-gateway client: cannot start: listen EADDRINUSE/);
});

test('configuration warnings look the same from both halves', async (t) => {
  const dir = await tempDir(t, 'mg-cli-');
  const warnings: string[] = [];
  for (const [half, text] of [
    ['server', serverJson({ typo_key: 1 })],
    ['client', clientJson({ typo_key: 1 })],
  ] as const) {
    const file = path.join(dir, `${half}.json`);
    await writeFile(file, text);
    const r = await runCli([half, file, '--check', '--allow-unknown-keys']);
    assert.equal(r.code, 0, r.stderr);
    warnings.push(r.stderr.replace(/^\[\S+ /, '[TIME ').replace(file, 'FILE'));
  }
  assert.equal(warnings[0], '[TIME WARN  media_gateway::config] FILE: $.typo_key: unknown key, ignored\n');
  assert.equal(warnings[1], warnings[0]);
});

test('users against an unreachable etcd: the address, what was tried and what to check, on one line', async (t) => {
  const dir = await tempDir(t, 'mg-cli-');
  const etcdUrl = `http://127.0.0.1:${await freePort()}`;
  const file = path.join(dir, 'server.json');
  const secs = (s: number) => ({ secs: s, nanos: 0 });
  await writeFile(
    file,
    serverJson({
      auth: {
        basic: {
          etcd: {
            urls: [etcdUrl],
            path: '/users',
            data_format: 'json',
            lease_timeout: secs(10),
            connect_timeout: { secs: 0, nanos: 300e6 },
            cache: { size: 10 },
          },
          cache: { size: 10 },
        },
      },
    }),
  );
  const r = await runCli(['users', '--config', file, 'list'], { timeoutMs: 60_000 });
  assertOneErrorLine(r, 'media-gateway users');
  assert.match(r.stderr, new RegExp(`cannot reach etcd at ${etcdUrl} \\(tried for up to 300 ms: `));
  assert.match(r.stderr, /check that etcd runs and listens there/);
  assert.doesNotMatch(r.stderr, /Resolution note/);
});
