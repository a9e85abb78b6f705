// Shared plumbing for the `pki` and `store` commands: subcommand dispatch, option parsing with
// node:util parseArgs, --help, and turning errors into a message plus an exit code.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PkiError } from './errors.js';
import { parseArgsMessage, usageLine } from '../util/usage.js';

export interface Subcommand {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(
    positionals: string[],
    values: Record<string, string | boolean | string[] | undefined>,
  ): Promise<number>;
}

export const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
export const err = (s: string): void => void process.stderr.write(s.endsWith('\n') ? s : s + '\n');

/** Exit codes: 0 ok, 1 failure (message on stderr), 2 usage error. */
export async function dispatch(
  prog: string,
  overview: string,
  table: Record<string, Subcommand>,
  argv: string[],
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const text = `${overview}\n\nSubcommands:\n${Object.values(table)
      .map((s) => '  ' + s.usage.split('\n')[0])
      .join('\n')}\n\nRun '${prog} <subcommand> --help' for details.`;
    (name ? out : err)(text);
    return name ? 0 : 2;
  }
  const sub = table[name];
  if (!sub) {
    err(`${prog}: unknown subcommand '${name}' (one of: ${Object.keys(table).join(', ')})`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...sub.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(usageLine(`${prog} ${name}`, parseArgsMessage(e)));
    return 2;
  }
  if (parsed.values.help) {
    out(`Usage: ${prog} ${sub.usage}`);
    return 0;
  }
  try {
    return await sub.run(parsed.positionals, parsed.values);
  } catch (e) {
    if (e instanceof PkiError) {
      err(`${prog} ${name}: ${e.message}`);
      return e.exitCode;
    }
    err(`${prog} ${name}: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

/** Exactly `n` positional arguments, or a usage error. */
export function positionals(args: string[], names: string[], usage: string): string[] {
  if (args.length !== names.length) {
    throw new PkiError(
      `expected ${names.map((n) => `<${n}>`).join(' ') || 'no arguments'} (usage: ${usage.split('\n')[0]})`,
      2,
    );
  }
  return args;
}
