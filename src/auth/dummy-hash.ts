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
/** `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>` (PHC string format; `v=` absent in version 0x10 hashes) */
const PHC =
  /^\$(argon2id|argon2i|argon2d)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$([A-Za-z0-9+/]+)$/;

/** The parameters of one stored Argon2 hash; undefined when it is not one (it is refused anyway). */
export function hashParameters(phc: string): DummyParameters | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  return {
    type: TYPES[m[1]],
    version: m[2] === undefined ? 0x10 : Number(m[2]),
    memoryCost: Number(m[3]),
    timeCost: Number(m[4]),
    parallelism: Number(m[5]),
    hashLength: Math.floor((m[6].length * 3) / 4),
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
