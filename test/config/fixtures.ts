// Shared fixtures of the configuration tests: the original's sample files and minimal valid configs.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import type { ReaderConfig, WriterConfig } from '../../src/config/types.js';
import { sharedDir } from '../helpers/cli.js';

export const samplesDir = path.join(sharedDir, 'compat', 'original-samples');

/** Every file name the samples refer to (they only need to exist for checkReferencedFiles). */
export const SAMPLE_FILES = [
  'server.crt',
  'server.key',
  'ca.crt',
  'client.crt',
  'client.key',
  'etcd-ca.crt',
  'etcd-client.crt',
  'etcd-client.key',
];
export const SAMPLE_DIRS = ['lookup-hash-dir'];

export interface Sample {
  name: string;
  kind: 'server' | 'client';
  source: string;
}

export async function listSamples(): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const sub of ['server', 'client', 'e2e']) {
    for (const f of (await readdir(path.join(samplesDir, sub))).filter((n) => n.endsWith('.json')).sort()) {
      const kind =
        sub === 'e2e' ? (f.startsWith('server') ? 'server' : 'client') : (sub as 'server' | 'client');
      out.push({ name: `${sub}/${f}`, kind, source: path.join(samplesDir, sub, f) });
    }
  }
  return out;
}

/** Copies a sample into `dir` next to (empty) files with the names it references; returns the copy's path. */
export async function stageSample(sample: Sample, dir: string): Promise<string> {
  for (const f of SAMPLE_FILES) await writeFile(path.join(dir, f), 'placeholder\n');
  for (const d of SAMPLE_DIRS) await mkdir(path.join(dir, d), { recursive: true });
  const target = path.join(dir, path.basename(sample.source));
  await copyFile(sample.source, target);
  return target;
}

/** The out_stream of the original's server default_config.json, normalised. */
export const DEFAULT_OUT_STREAM: WriterConfig = {
  url: 'pub+bind:ipc:///tmp/server',
  sendTimeoutMs: 1000,
  sendRetries: 3,
  receiveTimeoutMs: 1000,
  receiveRetries: 3,
  sendHwm: 1000,
  receiveHwm: 1000,
  fixIpcPermissions: 511,
};

/** The in_stream of the original's client default_config.json, normalised. */
export const DEFAULT_IN_STREAM: ReaderConfig = {
  url: 'sub+bind:ipc:///tmp/client',
  receiveTimeoutMs: 10_000,
  receiveHwm: 1000,
  topicPrefixSpec: { kind: 'none' },
  sourceCacheSize: 1000,
  inflightOps: 100,
  ack: 'on_read',
};

/** Asserts that `parse` throws a ConfigError with exactly this message (string) or a matching one (RegExp). */
export function expectConfigError(parse: () => unknown, message: string | RegExp): ConfigError {
  let caught: unknown;
  assert.throws(parse, (err: unknown) => {
    caught = err;
    return err instanceof ConfigError;
  });
  const err = caught as ConfigError;
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return err;
}

export { READER, WRITER, clientJson, serverJson } from '../helpers/config-json.js';
