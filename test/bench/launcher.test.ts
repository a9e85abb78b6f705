// The launcher's V8 flags: bin/media-gateway runs through its `env -S node <flags>` line when executed
// directly (as npm's bin link and systemd do), and the benchmark starts the halves with the same flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { launcherNodeFlags } from '../../src/bench/process.js';
import { binPath } from '../helpers/cli.js';

const run = promisify(execFile);

test('launcherNodeFlags reads the flags of an env -S shebang, and nothing from other first lines', () => {
  assert.deepEqual(launcherNodeFlags('#!/usr/bin/env -S node --a=1  --b\nrest'), ['--a=1', '--b']);
  assert.deepEqual(launcherNodeFlags('#!/usr/bin/env node\n'), []);
  assert.deepEqual(launcherNodeFlags('// no shebang\n'), []);
});

test('bin/media-gateway executed directly runs node with its heap flag', async () => {
  const flags = launcherNodeFlags(await readFile(binPath, 'utf8'));
  assert.ok(
    flags.some((f) => f.startsWith('--initial-old-space-size=')),
    `flags: ${flags.join(' ')}`,
  );
  const probe = await run(binPath, ['--help']); // through env -S, not through this test's node
  assert.match(probe.stdout, /Usage: media-gateway <command>/);
  // node exits with 'bad option' on a flag it does not know, so this run also checks the flag's spelling
});
