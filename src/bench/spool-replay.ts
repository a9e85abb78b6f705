// The benchmark's spool-replay extra: with the server away a client spools `totalBytes` of 1 MiB frames
// (1 GiB by default) and is stopped; then a fresh client replays that spool to a running server and sink.
// Reported: the replaying client's peak RSS (VmHWM, the issue's <= 256 MiB target) and its replay speed.
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildMessage } from '../savant/message.js';
import { SavantReader, SavantWriter } from '../savant/index.js';
import { freePort } from '../util/index.js';
import { clientConfig, serverConfig } from './configs.js';
import { startGatewayProcess, type GatewayProcess } from './process.js';

export interface SpoolReplayResult {
  messages: number;
  frameBytes: number;
  /** seconds the filling client took to take everything in */
  fillS: number;
  replayS: number;
  replayMBPerS: number;
  /** VmHWM of the replaying client */
  peakRssMiB: number;
  delivered: number;
  failures: string[];
}

const FRAME = 1024 * 1024;

export async function measureSpoolReplay(opts: {
  dir: string;
  totalBytes: number;
}): Promise<SpoolReplayResult> {
  const dir = await mkdtemp(path.join(opts.dir, 'spool-replay-'));
  const messages = Math.ceil(opts.totalBytes / FRAME);
  const sourceUrl = `ipc://${path.join(dir, 'source.ipc')}`;
  const sinkUrl = `ipc://${path.join(dir, 'sink.ipc')}`;
  const [serverPort, clientPort] = [await freePort(), await freePort()];
  const serverFile = path.join(dir, 'server.json');
  const clientFile = path.join(dir, 'client.json');
  await writeFile(
    serverFile,
    JSON.stringify(serverConfig({ port: serverPort, sinkUrl, frameBytes: FRAME, transport: 'http' })),
  );
  const client = clientConfig({
    port: clientPort,
    serverPort,
    sourceUrl,
    frameBytes: FRAME,
    transport: 'http',
    settings: { mode: 'auto', lanes: 4 },
    deadLetterDir: path.join(dir, 'dead-letter'),
    spool: { dir: path.join(dir, 'spool'), sync: 'periodic', maxBytes: 2 * opts.totalBytes },
  }) as Record<string, unknown>;
  client.shutdown_timeout = { secs: 0, nanos: 100_000_000 };
  await writeFile(clientFile, JSON.stringify(client));
  const failures: string[] = [];
  const procs: GatewayProcess[] = [];
  try {
    // fill: no server, so everything stays in the spool
    const filling = await startGatewayProcess('client', clientFile);
    procs.push(filling);
    const fillStart = performance.now();
    // the source stays open until the client has spooled everything: closing it drops (LINGER 0) what its
    // socket still queues, up to its high-water mark, which a client slowed by a loaded machine has not read
    const source = await sendFrames(sourceUrl, messages);
    try {
      await waitForSpooled(clientPort, messages);
    } finally {
      await source.close();
    }
    const fillS = (performance.now() - fillStart) / 1000;
    await filling.stop();

    // replay: a fresh client (its peak RSS is the replay's alone) delivers the spool to a running server
    const sink = await SavantReader.open({
      url: `router+bind:${sinkUrl}`,
      receiveTimeoutMs: 1000,
      receiveHwm: 16,
      topicPrefixSpec: { kind: 'none' },
      sourceCacheSize: 100,
      inflightOps: 16,
      ack: 'on_read',
    });
    try {
      procs.push(await startGatewayProcess('server', serverFile));
      const replaying = await startGatewayProcess('client', clientFile);
      procs.push(replaying);
      const replayStart = performance.now();
      let delivered = 0;
      const deadline = Date.now() + 300_000;
      while (delivered < messages && Date.now() < deadline) {
        const r = await sink.receive();
        if (!r) break;
        if (r.kind === 'message') delivered++;
      }
      const replayS = (performance.now() - replayStart) / 1000;
      const usage = await replaying.usage();
      if (delivered < messages) failures.push(`replay delivered ${delivered} of ${messages}`);
      return {
        messages,
        frameBytes: FRAME,
        fillS,
        replayS,
        replayMBPerS: (delivered * FRAME) / replayS / 1e6,
        peakRssMiB: usage.peakRssMiB,
        delivered,
        failures,
      };
    } finally {
      await sink.close();
    }
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
  }
}

/** Sends the frames; the caller closes the returned writer once they are read. */
async function sendFrames(sourceUrl: string, messages: number): Promise<SavantWriter> {
  const writer = await SavantWriter.open({
    url: `dealer+connect:${sourceUrl}`,
    sendTimeoutMs: 30_000,
    sendRetries: 2,
    receiveTimeoutMs: 5000,
    receiveRetries: 0,
    sendHwm: 16,
    receiveHwm: 16,
  });
  try {
    const topic = Buffer.from('replay');
    const message = buildMessage({ content: 'video_frame', sourceId: 'replay' });
    const frame = Buffer.alloc(FRAME, 0x5a);
    for (let i = 0; i < messages; i++) {
      const r = await writer.send(topic, message, [frame], false);
      if (r.kind !== 'success') throw new Error(`source: ${r.kind} at message ${i}`);
    }
    return writer;
  } catch (err) {
    await writer.close();
    throw err;
  }
}

async function waitForSpooled(clientPort: number, messages: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${clientPort}/metrics`)).text();
    const m = /^media_gateway_spool_messages (\d+)/m.exec(text);
    if (m && Number(m[1]) >= messages) return;
    if (Date.now() > deadline) throw new Error(`the spool took ${m?.[1] ?? 0} of ${messages} messages`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
