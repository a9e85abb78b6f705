// Shared by the PKI tests: the real openssl CLI, and the seed's own shell recipe run as written.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sharedDir } from '../helpers/cli.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd: opts.cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code, stdout, stderr });
    });
    // openssl may exit before reading its input (e.g. on a usage error): that is not a test failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs openssl; never throws on a non-zero exit (tests assert on the result). */
export function openssl(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<ExecResult> {
  return run('openssl', args, opts);
}

/** Runs openssl and throws with its stderr unless it exits 0. */
export async function opensslOk(
  args: string[],
  opts: { cwd?: string; input?: string } = {},
): Promise<string> {
  const r = await openssl(args, opts);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

/** The `.. code-block:: bash` blocks of the seed document, in order. */
export function seedBashBlocks(): string[] {
  const rst = readFileSync(path.join(sharedDir, 'seed', 'client-certificate-authentication.rst'), 'utf8');
  const blocks: string[] = [];
  const lines = rst.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '.. code-block:: bash') continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && (lines[j].trim() === '' || lines[j].startsWith('    ')))
      body.push(lines[j++].slice(4));
    blocks.push(body.join('\n'));
    i = j - 1;
  }
  return blocks;
}

/** The first seed block containing `marker`, run with bash in `cwd` (answers 'y' to openssl ca). */
export async function runSeedBlock(marker: string, cwd: string): Promise<ExecResult> {
  const block = seedBashBlocks().find((b) => b.includes(marker));
  if (!block) throw new Error(`no seed block contains ${marker}`);
  const r = await run('bash', ['-e', '-c', block], { cwd, input: 'y\ny\n' });
  if (r.code !== 0) throw new Error(`seed block failed (${r.code}):\n${block}\n${r.stderr}`);
  return r;
}
