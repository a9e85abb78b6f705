// Reading Prometheus metrics in tests: a tiny parser of the text exposition format (what a real scrape
// of GET /metrics returns) and before/after deltas. The registry is process-global and shared by every
// server and client in the test process, so tests compare values before and after an event, never absolutes.
import { request } from '../server/http-client.js';

/** One scrape: `name{label="v",...}` (labels sorted) → value. */
export type Samples = Map<string, number>;

/** The key of a sample, labels sorted by name: `name` or `name{a="1",b="2"}`. */
export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return name;
  return `${name}{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition format (version 0.0.4); comment and blank lines are skipped. */
export function parseExposition(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.set(sampleKey(m[1], labels), Number(m[3]));
  }
  return out;
}

/** GET <url> over real HTTP and parse it; asserts the Prometheus content type. */
export async function scrape(url: string): Promise<Samples> {
  const answer = await request(url);
  if (answer.status !== 200) throw new Error(`GET ${url}: HTTP ${answer.status}`);
  if (!String(answer.headers['content-type']).startsWith('text/plain'))
    throw new Error(`GET ${url}: content type ${answer.headers['content-type']}`);
  return parseExposition(answer.body.toString('utf8'));
}

/** A sample's value, 0 when the series does not exist (yet). */
export function value(s: Samples, name: string, labels: Record<string, string> = {}): number {
  return s.get(sampleKey(name, labels)) ?? 0;
}

/** How much a series moved between two scrapes. */
export function delta(
  before: Samples,
  after: Samples,
  name: string,
  labels: Record<string, string> = {},
): number {
  return value(after, name, labels) - value(before, name, labels);
}

/** In-process reading of one series of a prom-client metric (0 when absent); for waiting on a change. */
export async function current(
  metric: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const want = Object.entries(labels);
  const hit = values.find((v) => {
    const l = v.labels as Record<string, unknown>;
    return want.every(([k, x]) => String(l[k]) === x) && Object.keys(l).length === want.length;
  });
  return hit?.value ?? 0;
}

/** In-process sum of every series of a prom-client counter or gauge (all label values). */
export async function total(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}
