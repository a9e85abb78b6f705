// Debian's Prometheus tools as real components of the tests: `promtool` (check metrics, test rules) and a
// `prometheus` server on a free loopback port with a temporary configuration and storage directory, queried
// through its HTTP API. Installed by scripts/ensure-system-deps.sh (package `prometheus`).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request } from '../server/http-client.js';
import path from 'node:path';
import { freePort } from './net.js';
import { tempDir } from './tmp.js';

type T = { after(fn: () => unknown): void };

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with `input` on stdin and collects its output. */
export function runTool(cmd: string, args: string[], input = ''): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export const promtool = (args: string[], input?: string) => runTool('promtool', args, input);

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query; the samples of the resulting vector. */
  query(expr: string): Promise<PromSample[]>;
  /** Polls `expr` (at most timeoutMs) until `accept` holds for its samples; returns them. */
  waitFor(expr: string, accept: (s: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
}

/** Starts `prometheus` scraping `targets` (job → host:port, path /metrics) every 250 ms; killed at test end. */
export async function startPrometheus(t: T, targets: Record<string, string>): Promise<RunningPrometheus> {
  const dir = await tempDir(t, 'mg-prometheus-');
  const config = path.join(dir, 'prometheus.yml');
  const scrapeConfigs = Object.entries(targets).map(([job, target]) => ({
    job_name: job,
    scrape_interval: '250ms',
    scrape_timeout: '200ms',
    static_configs: [{ targets: [target] }],
  }));
  // JSON is YAML: no YAML writer needed for a configuration this small
  await writeFile(
    config,
    JSON.stringify({ global: { scrape_interval: '250ms' }, scrape_configs: scrapeConfigs }),
  );
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  const url = `http://127.0.0.1:${port}`;
  const query = async (expr: string): Promise<PromSample[]> => {
    const body = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const data = body as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (data.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return data.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const waitFor = async (
    expr: string,
    accept: (s: PromSample[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<PromSample[]> => {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] | string = 'no answer yet';
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log}`);
      try {
        const samples = await query(expr);
        if (accept(samples)) return samples;
        last = samples;
      } catch (err) {
        last = (err as Error).message; // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `prometheus: ${expr} not as expected within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${log}`,
        );
      // the next scrape is at most 250 ms away
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { url, query, waitFor };
}

async function getJson(url: string): Promise<unknown> {
  const answer = await request(url);
  const body = answer.body.toString('utf8');
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`GET ${url}: HTTP ${answer.status}: ${body.slice(0, 200)}`);
  }
}
