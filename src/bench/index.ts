// `media-gateway bench`: runs both halves against real ZeroMQ sockets, measures throughput and latency,
// checks them against the targets (./targets.ts) and reports a table or an SVG (./report.ts).
export { runBenchmark } from './benchmark.js';
export { BENCH_USAGE, BenchUsageError, parseBenchArgs } from './options.js';
export { formatTable, renderSvg } from './report.js';
