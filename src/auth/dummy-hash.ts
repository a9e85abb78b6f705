// The hash an unknown user (or a record without a password hash) is verified against, so that such a
// request costs exactly the Argon2 work of a wrong password and takes as long: timing does not tell
// whether a user exists. Same parameters as the hashes `media-gateway users` writes (src/cli/users.ts,
// HASH_OPTIONS; a test keeps the two equal), of a random password nobody knows.
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

export const DUMMY_HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 65536,
  timeCost: 3,
  parallelism: 4,
} as const;

export function makeDummyHash(): Promise<string> {
  return argon2.hash(randomBytes(32), DUMMY_HASH_OPTIONS);
}
