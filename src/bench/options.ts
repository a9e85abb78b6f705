// Command-line options of `media-gateway bench`: parsing, defaults and validation.
import { UsageError } from '../errors/index.js';
import { parseArgs } from 'node:util';

export const ALL_MODES = [
  'direct',
  'relay',
  'one-in-flight',
  'http',
  'https',
  'mtls',
  'mtls-batch',
  'mtls-spool',
  'mtls-spool-always',
] as const;
export type BenchMode = (typeof ALL_MODES)[number];

export const ALL_EXTRAS = ['latency', 'slow-sink', 'floor', 'fixed-rate', 'spool-replay', 'idle'] as const;
export type BenchExtra = (typeof ALL_EXTRAS)[number];

export interface BenchOptions {
  /** seconds the source sends in each run */
  seconds: number;
  /** extra-frame sizes in bytes */
  sizes: number[];
  modes: BenchMode[];
  /** number of topics (streams) the source interleaves */
  streams: number;
  /** fixed total messages/s for the matrix runs; undefined = as fast as possible */
  rate?: number;
  /** sink sleep per message in the matrix runs (back-pressure); undefined = no sleep */
  slowSinkMs?: number;
  /** additional runs after the matrix */
  extras: BenchExtra[];
  /** how long to wait for the sink to get everything after the source stops */
  drainTimeoutS: number;
  json: string;
  svg: string;
  profile: boolean;
  profileDir: string;
  /** matrix runs with tracing off (the default), on, or both (then reported as a per-message CPU ratio) */
  telemetry: 'off' | 'on' | 'both';
}

/** The bench command line is wrong (a UsageError, so the CLI prints its usage). */
export class BenchUsageError extends UsageError {}

export const BENCH_USAGE = `Usage: media-gateway bench [options]

Throughput and latency of the gateway on loopback: a Savant source (ZeroMQ dealer) -> client -> server
-> sink (ZeroMQ router), the client and server running as child processes of the built CLI.

Options:
  --seconds N         seconds of sending per run (default 4)
  --sizes LIST        extra-frame sizes, e.g. 1k,64k,1m or bytes (default 1k,64k,1m)
  --modes LIST        direct,relay,one-in-flight,http,https,mtls,mtls-batch,mtls-spool,
                      mtls-spool-always (default: all); relay is the same path through two bare
                      relay processes (ZeroMQ -> TLS with client certificates -> ZeroMQ, no
                      gateway code), a reference for mtls; mtls-batch is mtls with the stream off
                      (POST /batch); the spool modes are mtls with a client spool (sync
                      "periodic", the default, or "always") and are reported as a share of mtls
  --streams N         number of topics sent interleaved (default 4)
  --rate N            fixed total messages/s in the matrix runs (default: as fast as possible)
  --slow-sink MS      the sink sleeps MS per message in the matrix runs (back-pressure)
  --extras LIST       additional runs: latency,slow-sink,floor,fixed-rate,spool-replay,idle or none
                      (default: all when neither --sizes nor --modes is given, otherwise none); floor
                      measures bare ZeroMQ, TLS and HTTP pumps to bound what a gateway can reach at
                      1 MiB here; fixed-rate runs mtls and direct (and relay when in --modes) at
                      40% of each size's mtls msg/s (needs mtls in --modes) and the bare pumps at
                      the same size and rate;
                      spool-replay fills a 1 GiB spool with the server away, then measures the
                      client's peak RSS and speed while a restarted client replays it; idle
                      measures each half's CPU per second with no traffic at all (10 s,
                      after 20 s of settling)
  --drain-timeout S   wait at most S seconds for the sink after the source stops (default 20)
  --json FILE         write the results as JSON (default bench-results/bench.json)
  --svg FILE          write a throughput chart (default bench-results/bench.svg)
  --profile           run client and server with node --cpu-prof (bench-results/profiles)
  --telemetry WHEN    off (default), on or both: the matrix runs with a telemetry section in both
                      halves (OTLP/HTTP protobuf to a receiver in the harness, every message
                      carrying a sampled trace context); both runs each twice and reports the
                      per-message CPU of client + server with tracing on as a ratio of off
  -h, --help          show this help
`;

/** `1k` → 1024, `64k` → 65536, `1m` → 1048576, `100` → 100. */
export function parseSize(text: string): number {
  const m = /^(\d+)([km]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new BenchUsageError(`invalid size '${text}': expected e.g. 1k, 64k, 1m or a number of bytes`);
  const mult = m[2].toLowerCase() === 'k' ? 1024 : m[2].toLowerCase() === 'm' ? 1024 * 1024 : 1;
  const bytes = Number(m[1]) * mult;
  if (bytes < 16)
    throw new BenchUsageError(`invalid size '${text}': at least 16 bytes (timestamp + sequence)`);
  return bytes;
}

export function formatSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function positive(name: string, text: string, integer: boolean): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new BenchUsageError(
      `--${name}: expected a positive ${integer ? 'integer' : 'number'}, found '${text}'`,
    );
  }
  return v;
}

function list<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const it of items) {
    if (!(allowed as readonly string[]).includes(it)) {
      throw new BenchUsageError(`--${name}: unknown value '${it}' (expected ${allowed.join(', ')})`);
    }
  }
  if (items.length === 0) throw new BenchUsageError(`--${name}: empty list`);
  return [...new Set(items)] as T[];
}

/** Returns undefined when --help was asked for. Throws BenchUsageError on bad input. */
export function parseBenchArgs(argv: string[]): BenchOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        seconds: { type: 'string' },
        sizes: { type: 'string' },
        modes: { type: 'string' },
        streams: { type: 'string' },
        rate: { type: 'string' },
        'slow-sink': { type: 'string' },
        extras: { type: 'string' },
        'drain-timeout': { type: 'string' },
        json: { type: 'string' },
        svg: { type: 'string' },
        profile: { type: 'boolean' },
        telemetry: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const explicitMatrix = v.sizes !== undefined || v.modes !== undefined;
  let extras: BenchExtra[];
  if (v.extras === undefined) extras = explicitMatrix ? [] : [...ALL_EXTRAS];
  else if (v.extras.trim() === 'none') extras = [];
  else extras = list('extras', v.extras, ALL_EXTRAS);
  return {
    seconds: v.seconds !== undefined ? positive('seconds', v.seconds, false) : 4,
    sizes: v.sizes !== undefined ? [...new Set(v.sizes.split(',').map(parseSize))] : [1024, 65536, 1048576],
    modes: v.modes !== undefined ? list('modes', v.modes, ALL_MODES) : [...ALL_MODES],
    streams: v.streams !== undefined ? positive('streams', v.streams, true) : 4,
    rate: v.rate !== undefined ? positive('rate', v.rate, false) : undefined,
    slowSinkMs: v['slow-sink'] !== undefined ? positive('slow-sink', v['slow-sink'], false) : undefined,
    extras,
    drainTimeoutS:
      v['drain-timeout'] !== undefined ? positive('drain-timeout', v['drain-timeout'], false) : 20,
    json: v.json ?? 'bench-results/bench.json',
    svg: v.svg ?? 'bench-results/bench.svg',
    profile: v.profile ?? false,
    profileDir: 'bench-results/profiles',
    telemetry:
      v.telemetry !== undefined ? list('telemetry', v.telemetry, ['off', 'on', 'both'] as const)[0] : 'off',
  };
}
