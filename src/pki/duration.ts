// Human durations on the command line: `7d`, `12h`, `30m`, `45s`, `2w`, or plain seconds.
import { PkiError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function parseDurationMs(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(text);
  if (!m) throw new PkiError(`${what}: '${text}' is not a duration (examples: 7d, 12h, 30m)`);
  return Math.round(Number(m[1]) * UNIT_MS[(m[2] || 's').toLowerCase()]);
}

/** A positive whole number of days (`--days`). */
export function parseDays(text: string | undefined, fallback: number, what = '--days'): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new PkiError(`${what}: expected a positive whole number of days, got '${text}'`);
  return Number(text);
}

export const DAY_MS = UNIT_MS.d;
