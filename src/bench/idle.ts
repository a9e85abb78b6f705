// The benchmark's idle extra: the two halves started as for an mtls run (client certificates, the default
// transport) and left without a single message, to measure what each costs while there is nothing to carry.
// An edge client spends most of its life like that between bursts, and what it spends then is taken from
// the video pipeline beside it all day. Started without the benchmark's probe (./half-probe.ts), whose own
// event-loop sampling would be most of what is measured here.
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoPki } from '../pki/index.js';
import { CleanupStack } from '../util/cleanup-stack.js';
import { freePort } from '../util/index.js';
import { clientConfig, serverConfig } from './configs.js';
import { startGatewayProcess, type GatewayProcess } from './process.js';

export interface IdleResult {
  /** seconds measured, after the settling (IDLE_SETTLE_S by default) */
  seconds: number;
  /** CPU milliseconds per second, all threads */
  clientCpuMsPerS: number;
  serverCpuMsPerS: number;
}

/**
 * Start-up leaves work behind for a while: V8's background threads still compiled and collected for ~13 s
 * after a client started (13 ms of CPU per second in a window from 3 s to 13 s, 2 ms/s from 20 s to 30 s).
 * That is start-up, not idle.
 */
export const IDLE_SETTLE_S = 20;
/** The window: CPU time is read in clock ticks (10 ms), so 10 s resolve 1 ms of CPU per second. */
export const IDLE_SECONDS = 10;

export async function measureIdle(opts: {
  dir: string;
  pki: DemoPki;
  settleS?: number;
  seconds?: number;
}): Promise<IdleResult> {
  const settleS = opts.settleS ?? IDLE_SETTLE_S;
  const seconds = opts.seconds ?? IDLE_SECONDS;
  const dir = await mkdtemp(path.join(opts.dir, 'idle-'));
  const [serverPort, clientPort] = [await freePort(), await freePort()];
  const common = { frameBytes: 64 * 1024, transport: 'mtls' as const, pki: opts.pki };
  const serverFile = path.join(dir, 'server.json');
  const clientFile = path.join(dir, 'client.json');
  const sinkUrl = `ipc://${path.join(dir, 'sink.ipc')}`;
  await writeFile(serverFile, JSON.stringify(serverConfig({ ...common, port: serverPort, sinkUrl })));
  const client = clientConfig({
    ...common,
    port: clientPort,
    serverPort,
    sourceUrl: `ipc://${path.join(dir, 'source.ipc')}`,
    settings: { mode: 'auto', lanes: 4 },
    deadLetterDir: path.join(dir, 'dead-letter'),
  });
  await writeFile(clientFile, JSON.stringify(client));
  const cleanups = new CleanupStack();
  try {
    const server = await startGatewayProcess('server', serverFile, { probe: false });
    cleanups.push(() => server.stop());
    const client = await startGatewayProcess('client', clientFile, { probe: false });
    cleanups.push(() => client.stop());
    await sleep(settleS * 1000);
    const before = await cpuOf(client, server);
    await sleep(seconds * 1000);
    const after = await cpuOf(client, server);
    const perSecond = (i: number): number => ((after[i] - before[i]) * 1000) / seconds;
    return { seconds, clientCpuMsPerS: perSecond(0), serverCpuMsPerS: perSecond(1) };
  } finally {
    await cleanups.close();
  }
}

async function cpuOf(...halves: GatewayProcess[]): Promise<number[]> {
  return Promise.all(halves.map(async (h) => (await h.usage()).cpuS));
}
