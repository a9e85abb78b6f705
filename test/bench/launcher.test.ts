// The launcher's line: bin/media-gateway runs through its `env -S NAME=value ... node <flags>` line when
// executed directly (as npm's bin link and systemd do), and the benchmark starts the halves (and the floor's
// pumps) with the same variables and flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { launcherCommand } from '../../src/bench/process.js';
import { binPath } from '../helpers/cli.js';

const run = promisify(execFile);

test('launcherCommand reads the variables and flags of an env -S shebang', () => {
  assert.deepEqual(launcherCommand('#!/usr/bin/env -S A_=1 b=x=y node --a=1  --b\nrest'), {
    env: { A_: '1', b: 'x=y' },
    nodeFlags: ['--a=1', '--b'],
  });
  assert.deepEqual(launcherCommand('#!/usr/bin/env -S node --a=1\n'), { env: {}, nodeFlags: ['--a=1'] });
});

test('launcherCommand gives nothing for a first line that does not run node through env -S', () => {
  const none = { env: {}, nodeFlags: [] };
  assert.deepEqual(launcherCommand('#!/usr/bin/env node\n'), none);
  assert.deepEqual(launcherCommand('// no shebang\n'), none);
  assert.deepEqual(launcherCommand('#!/usr/bin/env -S A=1 python3 -u\n'), none);
});

test('bin/media-gateway executed directly runs node with its heap flag and allocator settings', async () => {
  const { env, nodeFlags } = launcherCommand(await readFile(binPath, 'utf8'));
  assert.ok(
    nodeFlags.some((f) => f.startsWith('--initial-old-space-size=')),
    `flags: ${nodeFlags.join(' ')}`,
  );
  assert.deepEqual(Object.keys(env).sort(), ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']);
  // through env -S, not through this test's node: env accepts the line's variables and runs node
  const probe = await run(binPath, ['--help']);
  assert.match(probe.stdout, /Usage: media-gateway <command>/);
  // node exits with 'bad option' on a flag it does not know, so this run also checks the flag's spelling
});

test('executed directly, bin/media-gateway hands node the allocator variables and flags its line names', async (t) => {
  // a stand-in `node` first on PATH (env -S looks node up there) prints what it was started with
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mg-launcher-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fake = path.join(dir, 'node');
  await writeFile(fake, '#!/bin/sh\nenv | grep ^MALLOC_ | sort\necho "args: $*"\n');
  await chmod(fake, 0o755);
  const out = await run(binPath, ['--help'], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, MALLOC_TRIM_THRESHOLD_: '1' },
  });
  const { env, nodeFlags } = launcherCommand(await readFile(binPath, 'utf8'));
  const expected = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  assert.deepEqual(
    out.stdout.split('\n').filter((l) => l.startsWith('MALLOC_')),
    expected,
  );
  assert.match(out.stdout, new RegExp(`^args: ${nodeFlags.join(' ')} ${binPath} --help$`, 'm'));
});
