// Process logger: pino underneath, printed in env_logger's text layout by default so that the
// statistics lines match the original byte for byte; LOG_FORMAT=json gives pino's JSON lines.
// Secrets (passwords, keys, Authorization headers) are redacted by path before anything is written.
import { pino, type Logger, type Level } from 'pino';
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

/** `[2024-08-02T08:38:52Z INFO  target] message key=value ...` like env_logger's default format. */
export function formatTextLine(rec: Record<string, unknown>): string {
  const { level, time, msg, target, pid: _pid, hostname: _host, ...rest } = rec;
  const ts = new Date(typeof time === 'number' ? time : Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const lvl = (LEVEL_NAMES[level as number] ?? 'INFO').padEnd(5);
  const fields = Object.entries(rest)
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`,
    )
    .join(' ');
  return `[${ts} ${lvl} ${String(target ?? 'media_gateway')}] ${String(msg ?? '')}${fields ? ' ' + fields : ''}\n`;
}

function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          out.write(formatTextLine(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(line + '\n');
        }
      }
      cb();
    },
  });
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
      json ? pino.destination({ fd: 2, sync: true }) : textStream(process.stderr),
    );
  }
  return root;
}

/** A logger whose lines carry `target` (e.g. `media_gateway::server`). */
export function logger(target: string): Logger {
  return rootLogger().child({ target });
}

export type { Logger };
