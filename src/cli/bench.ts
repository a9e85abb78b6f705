// `media-gateway bench`: throughput and latency of the gateway on loopback (see docs/benchmark.md).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runBenchmark } from '../bench/index.js';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from '../bench/options.js';
import { formatTable, renderSvg } from '../bench/report.js';
import { usageLine } from '../util/usage.js';

async function writeOutput(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, text);
}

export async function run(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(usageLine('media-gateway bench', err.message));
    return 2;
  }
  if (!options) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  const report = await runBenchmark(options, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write('\n' + formatTable(report));
  // JSON has no NaN: missing figures (e.g. no latency samples) become null.
  await writeOutput(options.json, JSON.stringify(report, (_k, v) => (Number.isNaN(v) ? null : v), 2) + '\n');
  await writeOutput(options.svg, renderSvg(report));
  process.stdout.write(`\nwrote ${options.json} and ${options.svg}\n`);
  if (options.profile)
    process.stdout.write(
      `CPU profiles in ${options.profileDir} (CPU.<date>.<time>.<pid>...; the JSON gives each half's pid)\n`,
    );
  return report.failed ? 1 : 0;
}
