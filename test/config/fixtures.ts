// Shared fixtures of the configuration tests: the original's sample files and minimal valid configs.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

export const WRITER = {
  url: 'pub+bind:ipc:///tmp/mg-config-test/server',
  send_timeout: { secs: 1, nanos: 0 },
  send_retries: 3,
  receive_timeout: { secs: 1, nanos: 0 },
  receive_retries: 3,
  send_hwm: 1000,
  receive_hwm: 1000,
};

export const READER = {
  url: 'sub+bind:ipc:///tmp/mg-config-test/client',
  receive_timeout: { secs: 10, nanos: 0 },
  receive_hwm: 1000,
  topic_prefix_spec: { none: null },
  source_cache_size: 1000,
  inflight_ops: 100,
};

export function serverJson(
  extra: Record<string, unknown> = {},
  outStream: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    { ip: '127.0.0.1', port: 8080, ...extra, out_stream: { ...WRITER, ...outStream } },
    null,
    2,
  );
}

export function clientJson(
  extra: Record<string, unknown> = {},
  inStream: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    {
      ip: '127.0.0.1',
      port: 8081,
      url: 'http://127.0.0.1:8080',
      ...extra,
      in_stream: { ...READER, ...inStream },
    },
    null,
    2,
  );
}
