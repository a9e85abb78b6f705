// The hash an unknown user (or a record without a password hash) is verified against, so that such a
// request costs the Argon2 work of a wrong password and takes as long: timing does not tell whether a
// user exists. Verification time follows the stored hash's parameters (variant, memory, passes, lanes,
// output length), so the dummy takes the parameters most of the stored hashes have: users written with
// other parameters (e.g. the original's 12 KiB samples) then still look like unknown users. With no
// stored hash it has the parameters `media-gateway users` writes (src/cli/users.ts, HASH_OPTIONS; a test
// keeps the two equal). The password is random: nobody knows it.
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

export interface DummyParameters {
  type: 0 | 1 | 2;
  version: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  hashLength: number;
}

export const DUMMY_HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 65536,
  timeCost: 3,
  parallelism: 4,
} as const;

const DEFAULT_PARAMETERS: Readonly<DummyParameters> = Object.freeze({
  ...DUMMY_HASH_OPTIONS,
  version: 0x13,
  hashLength: 32,
});

const TYPES: Record<string, 0 | 1 | 2> = { argon2d: 0, argon2i: 1, argon2id: 2 };
const B64 = /^[A-Za-z0-9+/]+$/;

/**
 * The parameters of one stored Argon2 hash, a PHC string `$argon2id$v=19$m=65536,p=4,t=3$<salt>$<hash>`
 * (`v=` is absent in version 0x10 hashes; the parameters may come in any order: node-argon2 writes
 * m, p, t); undefined when it is not one (it is refused anyway).
 */
export function hashParameters(phc: string): DummyParameters | undefined {
  const parts = phc.split('$');
  if (parts[0] !== '' || !(parts[1] in TYPES)) return undefined;
  const versioned = parts[2]?.startsWith('v=');
  const [version, params, salt, hash] = versioned
    ? [Number(parts[2].slice(2)), parts[3], parts[4], parts[5]]
    : [0x10, parts[2], parts[3], parts[4]];
  if (parts.length !== (versioned ? 6 : 5) || !params || !B64.test(salt ?? '') || !B64.test(hash ?? ''))
    return undefined;
  const p = new Map(params.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const num = (k: string) => (/^\d+$/.test(p.get(k) ?? '') ? Number(p.get(k)) : NaN);
  const [m, t, l] = [num('m'), num('t'), num('p')];
  if (!Number.isInteger(version) || [m, t, l].some(Number.isNaN)) return undefined;
  return {
    type: TYPES[parts[1]],
    version,
    memoryCost: m,
    timeCost: t,
    parallelism: l,
    hashLength: Math.floor((hash.length * 3) / 4),
  };
}

/**
 * The parameters most of `hashes` share. A tie goes to the costlier set (memory × passes, then lanes),
 * then to the first in a fixed order, so the choice never depends on the order the hashes come in.
 */
export function dummyParameters(hashes: Iterable<string>): DummyParameters {
  const counts = new Map<string, { p: DummyParameters; n: number }>();
  for (const h of hashes) {
    const p = hashParameters(h);
    if (!p) continue;
    const key = JSON.stringify(p);
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { p, n: 1 });
  }
  let best: { key: string; p: DummyParameters; n: number } | undefined;
  for (const [key, c] of counts) {
    if (!best || ranks(c, key) > ranks(best, best.key)) best = { key, ...c };
  }
  return best ? best.p : { ...DEFAULT_PARAMETERS };
}

/** Orders candidates: more hashes, then more work, then more lanes, then the key (deterministic). */
function ranks(c: { p: DummyParameters; n: number }, key: string): string {
  const pad = (x: number) => String(x).padStart(16, '0');
  return [c.n, c.p.memoryCost * c.p.timeCost, c.p.parallelism].map(pad).join('|') + '|' + key;
}

export function makeDummyHash(params: DummyParameters = DEFAULT_PARAMETERS): Promise<string> {
  return argon2.hash(randomBytes(32), { ...params });
}
