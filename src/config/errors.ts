// The one error type of configuration loading: it carries where the problem is (file, line/column or JSON path)
// and, for type mismatches, what was expected and what was found, so every message reads
// `server.json: $.out_stream.send_timeout.secs: expected a non-negative integer, found "1"`.
import { GatewayError } from '../errors/index.js';

/**
 * Stable codes of configuration errors (docs/errors.md): `config_invalid` for a wrong value, `config_unknown_key`
 * for a key this version does not know.
 */
export type ConfigErrorCode = 'config_invalid' | 'config_unknown_key';

export interface ConfigErrorDetails {
  code?: ConfigErrorCode;
  /** the configuration file, as given by the operator */
  file?: string;
  /** JSON path of the offending value, e.g. `$.out_stream.url` */
  path?: string;
  /** 1-based position in the text, for syntax and substitution errors */
  line?: number;
  column?: number;
  expected?: string;
  found?: string;
}

export class ConfigError extends GatewayError {
  declare readonly code: ConfigErrorCode;
  readonly file?: string;
  /** warnings collected before the error, so that they are not lost when loading fails */
  warnings: string[] = [];
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
  readonly expected?: string;
  readonly found?: string;

  /** `problem` may be omitted when `expected`/`found` say it all. */
  constructor(details: ConfigErrorDetails, problem?: string) {
    super(details.code ?? 'config_invalid', formatMessage(details, problem));
    this.file = details.file;
    this.path = details.path;
    this.line = details.line;
    this.column = details.column;
    this.expected = details.expected;
    this.found = details.found;
  }
}

function formatMessage(d: ConfigErrorDetails, problem: string | undefined): string {
  let where = d.file ?? '';
  if (d.line !== undefined)
    where += `${where ? ':' : 'line '}${d.line}${d.column !== undefined ? `:${d.column}` : ''}`;
  const parts = [where, d.path].filter((p): p is string => !!p);
  const mismatch =
    d.expected !== undefined ? `expected ${d.expected}, found ${d.found ?? 'nothing'}` : undefined;
  const text = [problem, mismatch].filter((p): p is string => !!p).join(': ');
  return [...parts, text || 'invalid configuration'].join(': ');
}

/** Short, safe rendering of a JSON value for "found ..." (strings quoted, containers summarised). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}
