// Packaging basics as a new operator meets them: the LICENSE file is the license package.json names, the
// README says which Node.js it needs and how to put `media-gateway` on PATH, that recipe works, every
// `media-gateway ...` command shown in README.md and docs/ exists once it is on PATH, and `npm ci` has no
// install-script notice to print (every dependency with an install script is decided in allowScripts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { runTool } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
  license: string;
  engines: { node: string };
};

test('LICENSE holds the Apache License 2.0 that package.json names', async () => {
  assert.equal(pkg.license, 'Apache-2.0');
  const text = await readFile(path.join(repoRoot, 'LICENSE'), 'utf8');
  assert.match(text, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
});

test('README states the Node.js version of package.json engines and shows npm link', async () => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  assert.equal(pkg.engines.node, '>=20');
  assert.match(readme, /Node\.js \*\*20 or newer\*\*/);
  assert.match(readme, /^npm link\b/m);
});

/** `media-gateway <command> [<subcommand>]` of every command line in the code blocks of README.md and docs/. */
async function documentedCommands(): Promise<string[][]> {
  const files = [
    path.join(repoRoot, 'README.md'),
    ...(await readdir(path.join(repoRoot, 'docs'))).map((f) => path.join(repoRoot, 'docs', f)),
  ];
  const seen = new Map<string, string[]>();
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const block of text.matchAll(/^```(?:sh|text|cron)?\n([\s\S]*?)^```/gm)) {
      for (const m of block[1].matchAll(/(?:^|&& |sudo |\s{2})media-gateway ([a-z-]+)(?: ([a-z-]+))?/gm)) {
        const [cmd, sub] = [m[1], m[2]];
        const words = ['pki', 'store'].includes(cmd) && sub ? [cmd, sub] : [cmd];
        seen.set(words.join(' '), words);
      }
    }
  }
  return [...seen.values()];
}

test('after npm install -g . every documented media-gateway command is on PATH and answers --help', async (t) => {
  const prefix = await tempDir(t, 'mg-prefix-');
  // what README's `npm link` / `npm install -g .` does, into a temporary prefix instead of the system's
  const install = await runTool('npm', [
    'install',
    '-g',
    repoRoot,
    '--prefix',
    prefix,
    '--offline',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
  ]);
  assert.equal(install.code, 0, install.stderr);
  const bin = path.join(prefix, 'bin', 'media-gateway');
  const commands = await documentedCommands();
  for (const must of ['server', 'client', 'users', 'pki init', 'store renew-crls'])
    assert.ok(
      commands.some((c) => c.join(' ') === must),
      `no documented '${must}'`,
    );
  for (const words of commands) {
    const r = await runTool(bin, [...words, '--help']);
    assert.equal(r.code, 0, `media-gateway ${words.join(' ')} --help: ${r.stderr}`);
  }
  const version = await runTool(bin, ['--version']);
  assert.match(version.stdout, /^media-gateway \d+\.\d+\.\d+ /);
});

test('npm has no install script left to ask about (allowScripts covers every dependency that has one)', async () => {
  const r = await runTool('npm', ['install-scripts', 'ls']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'No packages with unreviewed install scripts.');
});

// argon2 is the one dependency whose install script must run: its prebuilt linux-x64 binary crashed the
// process (SIGSEGV) on loading here, on Debian 12; the script builds it from source with node-gyp instead.
test('argon2, built by its approved install script, loads in a fresh process', async () => {
  const r = await runTool(process.execPath, [
    '-e',
    "import('argon2').then((a) => a.default.hash('x')).then((h) => console.log(h.slice(0, 9)))",
  ]);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout, '$argon2id\n');
});
