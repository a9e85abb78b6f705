// From raw configuration text to the root JSON object: environment substitution over the whole text (as the
// original did), then JSON with comments and trailing commas (jsonc-parser), then top-level nulls dropped.
import path from 'node:path';
import { parse, printParseErrorCode, visit, type ParseError } from 'jsonc-parser';
import { substituteEnv, lineColumn } from './env.js';
import { ConfigError } from './errors.js';
import { formatPath, Node, warnIfSecurityOff, type ParseContext } from './fields.js';

export interface ParseOptions {
  /** the file the text came from: named in messages; relative paths are resolved against its directory */
  file?: string;
  /** variables for substitution (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** unknown keys (but not near misses) as warnings; default: MEDIA_GATEWAY_ALLOW_UNKNOWN_KEYS=1 in `env` */
  allowUnknownKeys?: boolean;
}

/** The environment switch of `--allow-unknown-keys`, for deployments that cannot change the command line. */
export const ALLOW_UNKNOWN_KEYS_ENV = 'MEDIA_GATEWAY_ALLOW_UNKNOWN_KEYS';

export function parseDocument(text: string, opts: ParseOptions = {}): Node {
  const { file } = opts;
  const env = opts.env ?? process.env;
  const substituted = substituteEnv(text, env, file);
  const errors: ParseError[] = [];
  const value: unknown = parse(substituted, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0];
    // positions refer to the substituted text; they match the file unless a substituted value spans lines
    const { line, column } = lineColumn(substituted, first.offset);
    throw new ConfigError({ file, line, column }, `invalid JSON: ${describeParseError(first)}`);
  }
  rejectDuplicateKeys(substituted, file);
  const ctx: ParseContext = {
    file,
    baseDir: file ? path.dirname(path.resolve(file)) : process.cwd(),
    warnings: [],
    allowUnknownKeys:
      opts.allowUnknownKeys ?? ['1', 'true', 'yes'].includes(env[ALLOW_UNKNOWN_KEYS_ENV] ?? ''),
  };
  const root = new Node(ctx, '$', value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw root.mismatch('a JSON object at the top level');
  }
  // twelf drops top-level keys whose value is null before deserializing, so `"tls": null` means "no TLS"
  for (const [key, v] of Object.entries(value)) {
    if (v !== null) continue;
    warnIfSecurityOff(root.child(key), key);
    delete (value as Record<string, unknown>)[key];
  }
  return root;
}

/**
 * JSON parsers keep the last of two equal keys; the original (serde) refused them. Two `url`s in one section is
 * a mistake whichever wins, so it is an error.
 */
function rejectDuplicateKeys(text: string, file: string | undefined): void {
  const open: Set<string>[] = [];
  visit(
    text,
    {
      onObjectBegin: () => {
        open.push(new Set());
      },
      onObjectEnd: () => {
        open.pop();
      },
      onObjectProperty: (key, _offset, _length, startLine, startCharacter, pathSupplier) => {
        const keys = open[open.length - 1];
        if (!keys.has(key)) {
          keys.add(key);
          return;
        }
        throw new ConfigError(
          {
            file,
            line: startLine + 1,
            column: startCharacter + 1,
            path: formatPath([...pathSupplier(), key]),
          },
          `duplicate key "${key}"`,
        );
      },
    },
    { allowTrailingComma: true, disallowComments: false },
  );
}

function describeParseError(e: ParseError): string {
  // "CommaExpected" → "comma expected"
  return printParseErrorCode(e.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

/** Runs a section reader over the document; a ConfigError it throws carries the warnings gathered until then. */
export function withWarnings<T>(root: Node, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ConfigError) e.warnings = [...root.ctx.warnings];
    throw e;
  }
}
