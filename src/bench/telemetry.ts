// The benchmark with tracing on (--telemetry): a telemetry section for both halves that exports OTLP/HTTP
// protobuf to a receiver in the harness, which answers 200 and discards, so the run measures what the
// gateway pays for tracing, not a collector. Per-message CPU with tracing on is reported as a ratio of off.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';

export interface SpanSink {
  url: string;
  close(): Promise<void>;
}

// The receiver runs in a child process of its own: in the harness process it would compete with the
// source and sink for one event loop and distort the very figures it is there for.
const SINK_SCRIPT = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export async function startSpanSink(): Promise<SpanSink> {
  const child = spawn(process.execPath, ['-e', SINK_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`the span sink exited (${code}) before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** The `telemetry` section both halves get, as an operator would write it. */
export function telemetrySection(endpoint: string): object {
  return {
    context_propagation_format: 'w3c',
    tracer: { service_name: 'media-gateway-bench', protocol: 'http_binary', endpoint },
  };
}

export function sampledTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** CPU of client + server per delivered message, µs (start-up excluded); null when not measurable. */
export function cpuPerMessageUs(r: {
  unique: number;
  client: { cpuS: number; startupCpuS: number } | null;
  server: { cpuS: number; startupCpuS: number } | null;
}): number | null {
  if (!r.client || !r.server || r.unique === 0) return null;
  const cpuS = r.client.cpuS - r.client.startupCpuS + (r.server.cpuS - r.server.startupCpuS);
  return (cpuS / r.unique) * 1e6;
}
