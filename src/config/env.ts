// Environment substitution over the raw configuration text, before JSON parsing, with the rules of the
// original's loader (twelf + shellexpand `env`): `$NAME`, `${NAME}`, `${NAME:-default}`, `$$` → `$`.
// Substitution is textual on purpose: `"port": ${PORT:-8080}` (unquoted) must work as it did in the original.
import { ConfigError } from './errors.js';

/** shellexpand's variable-name characters: Unicode alphanumerics (Rust `char::is_alphanumeric`) and `_`. */
const NAME_AT = /[\p{Alphabetic}\p{N}_]+/uy;

export function substituteEnv(text: string, env: NodeJS.ProcessEnv, file?: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) return out + text.slice(i);
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const close = text.indexOf('}', dollar + 2);
      if (close < 0) {
        // unbalanced: shellexpand keeps `${` literally and carries on after it
        out += '${';
        i = dollar + 2;
        continue;
      }
      const inner = text.slice(dollar + 2, close);
      // `${:-x}` has no name, so the whole inner text is taken as the name (and is unset), as in shellexpand
      const split = inner.indexOf(':-');
      const name = split > 0 ? inner.slice(0, split) : inner;
      const fallback = split > 0 ? inner.slice(split + 2) : undefined;
      const value = env[name];
      // unlike a shell's `:-`, shellexpand uses the default only when the variable is unset, not when empty
      if (value !== undefined) out += value;
      else if (fallback !== undefined) out += fallback;
      else throw unsetError(name, text, dollar, file);
      i = close + 1;
    } else {
      NAME_AT.lastIndex = dollar + 1;
      const match = NAME_AT.exec(text);
      if (!match) {
        out += '$';
        i = dollar + 1;
        continue;
      }
      const name = match[0];
      const value = env[name];
      if (value === undefined) throw unsetError(name, text, dollar, file);
      out += value;
      i = dollar + 1 + name.length;
    }
  }
}

function unsetError(name: string, text: string, offset: number, file: string | undefined): ConfigError {
  const { line, column } = lineColumn(text, offset);
  return new ConfigError(
    { file, line, column },
    `environment variable ${name || '(empty name)'} is not set (give it a value, use \${${name}:-default}, or write $$ for a literal $)`,
  );
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf('\n'); k >= 0 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
