// A/B loop for the server's per-message CPU: two builds of the gateway (each a directory holding bin/ and
// dist/, e.g. a copy of an older build and this worktree) run in turn as `media-gateway server` over mTLS,
// each fed the same POST /batch (or POST /) bodies from this process with undici, 4 in flight, while a
// ZeroMQ router here drains what they forward. The server's CPU (utime + stime from /proc) is read after a
// warm-up and again once the sink has every message, so start-up is not counted. The builds alternate
// (A B, then B A, ...) so that the machine's load drifts over both alike.
//
//   node --import tsx scripts/ab-server-body.ts --a /tmp/base --b . --size 1m --items 8 --requests 100 --rounds 4
//   (--items 0 = POST / with one Media per request; --profile DIR writes each server's --cpu-prof there)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import * as zmq from 'zeromq';
import { makePki } from '../src/pki/index.js';
import { serverConfig } from '../src/bench/configs.js';
import { launcherCommand, readProcessUsage } from '../src/bench/process.js';
import { readFile } from 'node:fs/promises';
import { parseSize } from '../src/bench/options.js';
import { buildMessage } from '../src/savant/message.js';
import { encodeMedia, encodeMediaBatch } from '../src/savant/media.js';
import { MEDIA_CONTENT_TYPE } from '../src/contract/http.js';
import { freePort } from '../src/util/free-port.js';

const { values: o } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: '.' },
    size: { type: 'string', default: '1m' },
    items: { type: 'string', default: '8' },
    requests: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '20' },
    /** KEY=VALUE added to the environment of B's servers only (e.g. allocator tunables) */
    'b-env': { type: 'string', multiple: true, default: [] },
    /** write each server's --cpu-prof profile into this directory */
    profile: { type: 'string' },
  },
});
const size = parseSize(o.size!);
const items = Number(o.items);
const requests = Number(o.requests);
const perRequest = Math.max(1, items);

function body(): Buffer {
  const media = {
    topic: Buffer.from('bench-0'),
    message: buildMessage({ content: 'video_frame', sourceId: 'bench-0' }),
    data: [Buffer.alloc(size, 7)],
  };
  const one = encodeMedia(media);
  return Buffer.from(items === 0 ? one : encodeMediaBatch(Array.from({ length: items }, () => one)));
}

/** Minor page faults of a process so far (field 10 of /proc/<pid>/stat): fresh pages touched. */
async function minorFaults(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

async function runVariant(
  root: string,
  dir: string,
  pki: Awaited<ReturnType<typeof makePki>>,
  env: NodeJS.ProcessEnv,
) {
  const sinkUrl = `ipc://${dir}/sink-${Math.random().toString(36).slice(2)}`;
  const sink = new zmq.Router({ receiveHighWaterMark: 1000 });
  await sink.bind(sinkUrl);
  let received = 0;
  let wanted = 0;
  let reached: (() => void) | undefined;
  void (async () => {
    for await (const _ of sink) {
      if (++received >= wanted) reached?.();
    }
  })().catch(() => undefined);
  const port = await freePort();
  const cfgPath = path.join(dir, `server-${port}.json`);
  writeFileSync(
    cfgPath,
    JSON.stringify(serverConfig({ port, sinkUrl, frameBytes: size, transport: 'mtls', pki })),
  );
  const bin = path.join(root, 'bin', 'media-gateway');
  const launcher = launcherCommand(readFileSync(bin, 'utf8'));
  const child = spawn(
    process.execPath,
    [
      ...launcher.nodeFlags,
      ...(o.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.profile)] : []),
      bin,
      'server',
      cfgPath,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...launcher.env, ...env },
    },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/listening on/.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => reject(new Error(`server exited: ${out}`)));
  });
  const pool = new Pool(`https://127.0.0.1:${port}`, {
    connections: 4,
    connect: {
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
      ca: readFileSync(pki.caCert),
    },
  });
  const b = body();
  const post = async () => {
    const r = await pool.request({
      method: 'POST',
      path: items === 0 ? '/' : '/batch',
      headers: { 'content-type': MEDIA_CONTENT_TYPE },
      body: b,
    });
    const text = await r.body.text();
    if (r.statusCode !== 200 || (items > 0 && !text.includes(`"accepted":${items}`)))
      throw new Error(`HTTP ${r.statusCode} ${text}`);
  };
  const load = async (n: number) => {
    wanted = received + n * perRequest;
    const arrived = new Promise<void>((r) => (reached = r));
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < n) {
          next++;
          await post();
        }
      }),
    );
    if (received < wanted) await arrived;
  };
  await load(Number(o.warmup));
  const before = await readProcessUsage(child.pid!);
  const faultsBefore = await minorFaults(child.pid!);
  const started = performance.now();
  await load(requests);
  const after = await readProcessUsage(child.pid!);
  const faults = (await minorFaults(child.pid!)) - faultsBefore;
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
  sink.close();
  const cpuMs = (after.cpuS - before.cpuS) * 1000;
  const mib = (requests * perRequest * size) / 2 ** 20;
  return {
    faultsPerMiB: faults / mib,
    msPerMiB: cpuMs / mib,
    usPerMsg: (cpuMs * 1000) / (requests * perRequest),
    seconds,
    peakRssMiB: after.peakRssMiB,
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'mg-ab-'));
try {
  const pki = await makePki(path.join(dir, 'pki'));
  const roots = { A: path.resolve(o.a!), B: path.resolve(o.b!) };
  const results: Record<'A' | 'B', number[]> = { A: [], B: [] };
  for (let round = 0; round < Number(o.rounds); round++) {
    const order: ('A' | 'B')[] = round % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const v of order) {
      const env = v === 'B' ? Object.fromEntries(o['b-env']!.map((e) => e.split(/=(.*)/s, 2))) : {};
      const r = await runVariant(roots[v], dir, pki, env);
      results[v].push(r.msPerMiB);
      console.log(
        `round ${round} ${v}: ${r.msPerMiB.toFixed(3)} CPU ms/MiB, ${r.usPerMsg.toFixed(0)} µs/msg, ` +
          `${r.faultsPerMiB.toFixed(0)} page faults/MiB, ${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  for (const v of ['A', 'B'] as const)
    console.log(
      `${v} ${roots[v]}: median ${median(results[v]).toFixed(3)} ms/MiB, min ${Math.min(...results[v]).toFixed(3)}`,
    );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
