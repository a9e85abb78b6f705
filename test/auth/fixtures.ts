// Shared pieces of the auth tests: waiting for the authenticator's events, plus the Basic-auth config and
// header helpers that the server tests share (test/helpers/basic-auth.ts).
import { once } from 'node:events';
import type { Authenticator } from '../../src/auth/authenticator.js';

export { VECTORS, basic, basicConfig, etcdConfig } from '../helpers/basic-auth.js';

/** Resolves once the authenticator has seen the record `name` change; call it before making the change. */
export function waitForChange(auth: Authenticator, name: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const on = (n: string) => {
      if (n === name) {
        auth.events.off('change', on);
        resolve();
      }
    };
    auth.events.on('change', on);
  });
}

/** Runs an etcd write and resolves once the authenticator has seen the record `name` change. */
export async function afterChange(
  auth: Authenticator,
  name: string,
  change: () => { exec(): Promise<unknown> },
): Promise<void> {
  const seen = waitForChange(auth, name);
  await change().exec();
  await seen;
}

export async function nextEvent(auth: Authenticator, event: 'synced' | 'disconnected'): Promise<void> {
  await once(auth.events, event);
}
