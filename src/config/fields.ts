// Typed readers over the parsed JSON tree. Each reader knows the JSON path it reads, so a wrong value is
// reported as `file: $.path: expected X, found Y`; object readers remember which keys were read, and
// everything left over is an "unknown key" error with a "did you mean" suggestion (the original silently
// ignored unknown keys, so a typo such as `tsl` for `tls` turned TLS off without a word).
import { isIP } from 'node:net';
import path from 'node:path';
import levenshtein from 'damerau-levenshtein';
import { escapeControls } from '../util/log.js';
import { TIMER_LIMIT_MS } from '../util/timers.js';
import { ConfigError, describeValue, type ConfigErrorCode } from './errors.js';

/** Node's timers and ZeroMQ's int options stop at 2^31 - 1 ms (~24.8 days); longer values would misfire. */
export const MAX_TIMER_MS = TIMER_LIMIT_MS;

export interface ParseContext {
  file?: string;
  /** relative file paths in the configuration are resolved against this directory */
  baseDir: string;
  warnings: string[];
  /**
   * Unknown keys that are not near misses of a known key become warnings instead of errors (for people who
   * keep extra keys in their files). A near miss is always an error: it is almost surely a typo.
   */
  allowUnknownKeys?: boolean;
}

export type Read<T> = (node: Node) => T;

/** One value of the configuration together with where it sits. */
export class Node {
  constructor(
    readonly ctx: ParseContext,
    readonly path: string,
    readonly value: unknown,
    /** secret values (passwords) are never echoed in messages */
    readonly secret = false,
  ) {}

  /** A type mismatch: `expected <expected>, found <this value>`. */
  mismatch(expected: string, problem?: string): ConfigError {
    const found = this.secret ? '(hidden)' : describeValue(this.value);
    return new ConfigError({ file: this.ctx.file, path: this.path, expected, found }, problem);
  }

  /** Any other problem with this value. */
  error(problem: string, code?: ConfigErrorCode): ConfigError {
    return new ConfigError({ file: this.ctx.file, path: this.path, code }, problem);
  }

  warn(message: string): void {
    const prefix = this.ctx.file ? `${this.ctx.file}: ` : '';
    this.ctx.warnings.push(`${prefix}${this.path}: ${message}`);
  }

  child(key: string | number, secret = false): Node {
    const value =
      typeof key === 'number' ? (this.value as unknown[])[key] : (this.value as Record<string, unknown>)[key];
    return new Node(this.ctx, childPath(this.path, key), value, secret || this.secret);
  }

  object(): ObjectReader {
    return new ObjectReader(this);
  }
}

/**
 * `typo` is probably a misspelling of `known`: at most one edit (a transposition counts as one) for keys of up
 * to 7 characters, two for longer ones; case is ignored.
 */
export function isNearMiss(typo: string, known: string): boolean {
  const a = typo.toLowerCase();
  const b = known.toLowerCase();
  if (a === b) return true;
  const allowed = Math.max(a.length, b.length) >= 8 ? 2 : 1;
  return Math.abs(a.length - b.length) <= allowed && levenshtein(a, b).steps <= allowed;
}

/** The known keys `typo` is a near miss of, the closest first (ties all named: `tsl` → `tls` or `ssl`). */
export function closestKeys(typo: string, known: string[]): string[] {
  const near = known
    .filter((k) => isNearMiss(typo, k))
    .map((k) => ({ k, d: levenshtein(typo.toLowerCase(), k.toLowerCase()).steps }));
  const best = Math.min(...near.map((n) => n.d));
  return near.filter((n) => n.d === best).map((n) => n.k);
}

/** `['out_stream', 'url']` → `$.out_stream.url` */
export function formatPath(segments: (string | number)[]): string {
  return segments.reduce<string>(childPath, '$');
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  // invisible characters in a key are written as escapes: `$["t\u200bls"]`, not a key that looks like `tls`
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? `${parent}.${key}`
    : `${parent}[${escapeControls(JSON.stringify(key))}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the keys of one JSON object; `done()` reports the keys nobody asked for. */
export class ObjectReader {
  private readonly used = new Set<string>();
  readonly value: Record<string, unknown>;

  constructor(readonly node: Node) {
    if (!isPlainObject(node.value)) throw node.mismatch('an object');
    this.value = node.value;
  }

  /** present and not null (serde treats `null` as an absent Option) */
  has(key: string): boolean {
    return Object.hasOwn(this.value, key) && this.value[key] !== null;
  }

  pathOf(key: string): string {
    return childPath(this.node.path, key);
  }

  child(key: string, secret = false): Node {
    this.used.add(key);
    return this.node.child(key, secret);
  }

  required<T>(key: string, read: Read<T>, secret = false): T {
    const node = this.child(key, secret);
    if (!Object.hasOwn(this.value, key)) {
      const typo = Object.keys(this.value).find((k) => !this.used.has(k) && isNearMiss(k, key));
      throw typo === undefined
        ? node.error('required field is missing')
        : node.error(
            `required field is missing (found "${typo}": did you mean "${key}"?)`,
            'config_unknown_key',
          );
    }
    return read(node);
  }

  optional<T>(key: string, read: Read<T>, secret = false): T | undefined {
    const node = this.child(key, secret);
    if (Object.hasOwn(this.value, key) && this.value[key] === null) warnIfSecurityOff(node, key);
    return this.has(key) ? read(node) : undefined;
  }

  /**
   * Unknown keys are errors, with a suggestion when one is a near miss of a key this object knows. With
   * `allowUnknownKeys` they are warnings, except near misses, which stay errors.
   */
  done(): void {
    for (const key of Object.keys(this.value)) {
      if (this.used.has(key)) continue;
      const node = this.node.child(key);
      const suggestions = closestKeys(key, [...this.used]);
      if (suggestions.length > 0)
        throw node.error(
          `unknown key (did you mean ${suggestions.map((k) => `"${k}"`).join(' or ')}?)`,
          'config_unknown_key',
        );
      if (!this.node.ctx.allowUnknownKeys)
        throw node.error(
          `unknown key (remove it, or start with --allow-unknown-keys to ignore keys this version does not know)`,
          'config_unknown_key',
        );
      node.warn('unknown key, ignored');
    }
  }

  /** A key this version accepts for compatibility and ignores. */
  ignored(key: string, why: string): void {
    const node = this.child(key);
    if (Object.hasOwn(this.value, key)) node.warn(`accepted for compatibility and ignored: ${why}`);
  }

  /** For shapes the original rejected extra keys in (serde's Duration): an error instead of a warning. */
  denyUnknown(): void {
    for (const key of Object.keys(this.value)) {
      if (!this.used.has(key)) throw this.node.child(key).error('unknown field');
    }
  }
}

/**
 * Sections whose absence turns a protection off. `null` means "absent" (serde's rule, kept for the original's
 * files), so a `null` here is accepted but said out loud: it is easy to write by accident and widens access.
 */
const SECURITY_SECTIONS: Record<string, string> = {
  tls: 'the TLS settings are off (a server then serves plain HTTP)',
  ssl: 'the TLS settings are off (a server then serves plain HTTP)',
  peers: 'client certificates are not required',
  client: 'this section is off (for a server: client certificates are not required)',
  auth: 'authentication is off',
  identity: 'no client certificate is presented',
  proxy_protocol: 'no PROXY protocol header is read (behind a balancer every client is charged to it)',
  shared: 'each server counts failed logins alone (a fleet multiplies the guesses per address)',
};

export function warnIfSecurityOff(node: Node, key: string): void {
  const off = SECURITY_SECTIONS[key];
  if (off) node.warn(`is null, which means absent: ${off}`);
}

// ---- scalar readers ----

export const str: Read<string> = (n) => {
  if (typeof n.value !== 'string') throw n.mismatch('a string');
  return n.value;
};

export const nonEmptyStr: Read<string> = (n) => {
  if (typeof n.value !== 'string' || n.value === '') throw n.mismatch('a non-empty string');
  return n.value;
};

export const bool: Read<boolean> = (n) => {
  if (typeof n.value !== 'boolean') throw n.mismatch('true or false');
  return n.value;
};

export interface IntRange {
  min?: number;
  max?: number;
}

/** Integer reader; `1.5`, `"1"` and out-of-range values are errors (serde's u16/u32/usize are strict too). */
export function int({ min = 0, max = Number.MAX_SAFE_INTEGER }: IntRange = {}): Read<number> {
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? min === 0
        ? 'a non-negative integer'
        : `an integer ≥ ${min}`
      : `an integer from ${min} to ${max}`;
  return (n) => {
    if (typeof n.value !== 'number' || !Number.isInteger(n.value) || n.value < min || n.value > max) {
      throw n.mismatch(expected);
    }
    return n.value;
  };
}

export const u16 = int({ max: 0xffff });
export const u32 = int({ max: 0xffffffff });
export const usize = int();
export const positive = int({ min: 1 });

export function oneOf<T extends string>(...values: T[]): Read<T> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return (n) => {
    if (typeof n.value !== 'string' || !(values as string[]).includes(n.value)) throw n.mismatch(expected);
    return n.value as T;
  };
}

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** A listen address: an IPv4 or IPv6 literal, or a host name (`300.1.1.1` or `127.0.0.1x` are refused). */
export const listenHost: Read<string> = (n) => {
  const v = nonEmptyStr(n);
  const looksNumeric = /^[0-9.]+$/.test(v);
  if (isIP(v) !== 0 || (!looksNumeric && !v.includes(':') && HOST_NAME.test(v))) return v;
  throw n.mismatch('an IP address (e.g. "127.0.0.1", "::1", "0.0.0.0") or a host name');
};

/** A file or directory path; relative paths are taken from the configuration file's directory. */
export const filePath: Read<string> = (n) => path.resolve(n.ctx.baseDir, nonEmptyStr(n));

export function arrayOf<T>(read: Read<T>, { nonEmpty = false } = {}): Read<T[]> {
  return (n) => {
    if (!Array.isArray(n.value)) throw n.mismatch(nonEmpty ? 'a non-empty array' : 'an array');
    if (nonEmpty && n.value.length === 0) throw n.mismatch('a non-empty array');
    return n.value.map((_, i) => read(n.child(i)));
  };
}

export interface DurationRange {
  /** default 0 */
  minMs?: number;
  /** default MAX_TIMER_MS */
  maxMs?: number;
}

const DURATION = 'a duration {"secs": N, "nanos": N}';

/**
 * serde's std Duration: `{"secs": u64, "nanos": u32}` (both required, nothing else) or `[secs, nanos]`,
 * truncated to whole milliseconds like the original did for ZeroMQ.
 */
export function duration({ minMs = 0, maxMs = MAX_TIMER_MS }: DurationRange = {}): Read<number> {
  return (n) => {
    let secs: number;
    let nanos: number;
    if (Array.isArray(n.value)) {
      if (n.value.length !== 2) throw n.mismatch(DURATION);
      secs = usize(n.child(0));
      nanos = u32(n.child(1));
    } else if (isPlainObject(n.value)) {
      const o = n.object();
      secs = o.required('secs', usize);
      nanos = o.required('nanos', u32);
      o.denyUnknown();
    } else {
      throw n.mismatch(DURATION);
    }
    const ms = secs * 1000 + Math.floor(nanos / 1e6);
    if (ms < minMs) throw n.error(`must be at least ${minMs} ms, found ${ms} ms`);
    if (ms > maxMs) throw n.error(`must be at most ${maxMs} ms, found ${ms} ms`);
    return ms;
  };
}

/**
 * serde's externally tagged enum: a unit variant as `"name"` or `{"name": null}`, a value variant as
 * `{"name": value}` (exactly one key). Unit variants are given as `{ unit: result }`, value variants as readers.
 */
export function taggedEnum<T>(variants: Record<string, ((node: Node) => T) | { unit: T }>): Read<T> {
  const names = Object.keys(variants);
  const expected = `one of ${names.map((v) => `"${v}"`).join(', ')} (as {"<variant>": ...})`;
  return (n) => {
    let name: string;
    let inner: Node | undefined;
    if (typeof n.value === 'string') {
      name = n.value;
    } else if (isPlainObject(n.value) && Object.keys(n.value).length === 1) {
      name = Object.keys(n.value)[0];
      inner = n.child(name);
    } else {
      throw n.mismatch(expected);
    }
    if (!Object.hasOwn(variants, name)) throw n.mismatch(expected, `unknown variant "${name}"`);
    const variant = variants[name];
    if (typeof variant === 'object') {
      if (inner && inner.value !== null) throw inner.mismatch('null', `"${name}" takes no value`);
      return variant.unit;
    }
    if (!inner) throw n.mismatch(`{"${name}": ...}`, `"${name}" needs a value`);
    return variant(inner);
  };
}

/**
 * Removes `undefined` members, in place, so that configs compare (and print) cleanly. In place because the
 * objects are keys of the origin map below.
 */
export function prune<T>(value: T): T {
  if (Array.isArray(value)) value.forEach(prune);
  else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) delete value[k];
      else prune(v);
    }
  }
  return value;
}

// Where a normalised field came from (`$.ssl.server.certificate_key` vs `$.tls.identity.key`), so that later
// checks (referenced files) can name the key the operator actually wrote. Weak: it never keeps configs alive.
const origins = new WeakMap<object, Map<string, string>>();

export function noteOrigin(target: object, field: string, jsonPath: string): void {
  let fields = origins.get(target);
  if (!fields) origins.set(target, (fields = new Map()));
  fields.set(field, jsonPath);
}

export function originOf(target: object, field: string): string | undefined {
  return origins.get(target)?.get(field);
}
