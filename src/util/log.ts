// Process logger: pino underneath, printed in env_logger's text layout by default so that the
// statistics lines match the original byte for byte; LOG_FORMAT=json gives pino's JSON lines.
// Secrets (passwords, keys, Authorization headers) are redacted by path before anything is written.
// Control characters are escaped here, at format time, for every field and both formats, so that peer
// strings (topics, usernames, certificate subjects, request paths) logged anywhere can neither move
// the terminal's cursor, recolour it, forge a log line nor reorder what is shown. Escaping happens
// once, on the way out; callers log raw strings.
import { pino, type Logger, type Level, type DestinationStream } from 'pino';
import { Writable } from 'node:stream';

const REDACT = [
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
];

/** LOG_LEVEL wins; RUST_LOG (e.g. `info` or `media_gateway=debug,warn`) is read for configs written for the original. */
export function levelFromEnv(env: NodeJS.ProcessEnv = process.env): Level {
  const valid: Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  const pick = (raw: string | undefined): Level | undefined => {
    if (!raw) return undefined;
    for (const part of raw.split(',').reverse()) {
      const lvl = (part.includes('=') ? part.split('=')[1] : part).trim().toLowerCase();
      const mapped = lvl === 'warning' ? 'warn' : lvl;
      if ((valid as string[]).includes(mapped)) return mapped as Level;
    }
    return undefined;
  };
  return pick(env.LOG_LEVEL) ?? pick(env.RUST_LOG) ?? 'info';
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'ERROR',
};

/**
 * Characters never written raw: C0 controls, DEL, C1 controls (U+009B is a CSI on many terminals), the
 * Unicode line and paragraph separators, the bidirectional controls that reorder displayed text (U+061C, U+200E/F,
 * U+202A-E, U+2066-9), and the invisible characters that hide text (zero-width U+200B-D, U+2060-4, BOM U+FEFF).
 */
const BEYOND_C0 =
  '\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff';
const CONTROL = new RegExp(`[\\u0000-\\u001f${BEYOND_C0}]`);
const CONTROLS = new RegExp(CONTROL.source, 'g');
/** The same minus C0, which JSON text never holds raw inside strings (JSON.stringify and pino escape it). */
const LEFT_BY_JSON = new RegExp(`[${BEYOND_C0}]`);
const ALL_LEFT_BY_JSON = new RegExp(LEFT_BY_JSON.source, 'g');
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  return SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `s` with every control character written as a JSON escape (`\u001b`, `\n`); other text unchanged. */
export function escapeControls(s: string): string {
  return CONTROL.test(s) ? s.replace(CONTROLS, escapeChar) : s;
}

/**
 * A serialized JSON log line with the control characters JSON leaves raw written as `\uXXXX`: still valid
 * JSON, and it decodes to exactly the logged strings. Escapes already in the line are plain ASCII and are
 * not touched, so nothing is escaped twice.
 */
export function escapeJsonLine(line: string): string {
  return LEFT_BY_JSON.test(line) ? line.replace(ALL_LEFT_BY_JSON, escapeChar) : line;
}

/** JSON text of a non-string field value for the text layout, with no raw control character. */
function jsonText(v: unknown): string {
  const json = JSON.stringify(v) as string | undefined;
  return json === undefined ? escapeControls(String(v)) : escapeJsonLine(json);
}

/** A string field value: bare when it is one plain word, quoted in JSON style otherwise. */
function fieldText(v: string): string {
  return /\s/.test(v) || CONTROL.test(v) ? jsonText(v) : v;
}

/** `[2024-08-02T08:38:52Z INFO  target] message key=value ...` like env_logger's default format. */
export function formatTextLine(rec: Record<string, unknown>): string {
  const { level, time, msg, target, pid: _pid, hostname: _host, ...rest } = rec;
  const ts = new Date(typeof time === 'number' ? time : Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const lvl = (LEVEL_NAMES[level as number] ?? 'INFO').padEnd(5);
  const fields = Object.entries(rest)
    .map(([k, v]) => `${escapeControls(k)}=${typeof v === 'string' ? fieldText(v) : jsonText(v)}`)
    .join(' ');
  const head = `[${ts} ${lvl} ${escapeControls(String(target ?? 'media_gateway'))}]`;
  return `${head} ${escapeControls(String(msg ?? ''))}${fields ? ' ' + fields : ''}\n`;
}

function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          out.write(formatTextLine(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(escapeControls(line) + '\n');
        }
      }
      cb();
    },
  });
}

/** pino's JSON lines, each passed through escapeJsonLine on its way to `out`. */
export function jsonStream(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(escapeJsonLine(line)) };
}

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    const json = (process.env.LOG_FORMAT ?? '').toLowerCase() === 'json';
    root = pino(
      {
        level: levelFromEnv(),
        base: undefined,
        redact: { paths: REDACT, censor: '[redacted]' },
      },
      json ? jsonStream(pino.destination({ fd: 2, sync: true })) : textStream(process.stderr),
    );
  }
  return root;
}

/** A logger whose lines carry `target` (e.g. `media_gateway::server`). */
export function logger(target: string): Logger {
  return rootLogger().child({ target });
}

export type { Logger };
