// `media-gateway demo`: the whole product on loopback in one process. It builds a private CA, a
// server and a client certificate and a hash directory with our own PKI code, starts the server
// (mutual TLS, live trust store) and the client, feeds synthetic Savant frames into the client's
// ZeroMQ socket, counts what reaches the sink, then revokes the client mid-stream and shows it
// being cut off without a restart. `--plain` runs the same flow over HTTP with no certificates.
import { parseArgs } from 'node:util';
import { parseArgsMessage, usageLine } from '../util/usage.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  defaultClientConfig,
  defaultServerConfig,
  type ClientConfig,
  type ServerConfig,
} from '../config/index.js';
import { startServer } from '../server/index.js';
import { startClient } from '../client/index.js';
import { SavantWriter, SavantReader } from '../savant/index.js';
import { buildMessage } from '../savant/message.js';
import { revokeCertificate, generateCrl, makePki, type DemoPki } from '../pki/index.js';
import { freePort } from '../util/index.js';
import { CleanupStack } from '../util/cleanup-stack.js';

const HELP = `Usage: media-gateway demo [--plain] [--seconds N] [--rate N]

Runs server, client, a synthetic Savant source and a sink on loopback and prints a live count.
By default the path is mutual TLS: a private CA, server and client certificates and the trust
hash directory are created in a temporary folder with this product's own PKI code; half-way
through, the client certificate is revoked and the new CRL published into the directory, and
the server cuts the client off without a restart.

  --plain       plain HTTP, no certificates (the embedded default configuration)
  --seconds N   total run time (default 8)
  --rate N      messages per second from the source (default 200)
`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        plain: { type: 'boolean', default: false },
        seconds: { type: 'string', default: '8' },
        rate: { type: 'string', default: '200' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(usageLine('media-gateway demo', parseArgsMessage(err)));
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  if (!(seconds > 0) || !(rate > 0)) {
    process.stderr.write(usageLine('media-gateway demo', '--seconds and --rate must be positive numbers'));
    return 2;
  }
  const secure = !values.plain;
  const say = (s: string) => process.stdout.write(`[demo] ${s}\n`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'media-gateway-demo-'));
  const cleanups = new CleanupStack();
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const [httpPort, clientPort] = [await freePort(), await freePort()];
    const sinkUrl = `ipc://${path.join(dir, 'sink.ipc')}`;
    const sourceUrl = `ipc://${path.join(dir, 'source.ipc')}`;

    const serverCfg: ServerConfig = defaultServerConfig();
    serverCfg.port = httpPort;
    serverCfg.outStream = { ...serverCfg.outStream, url: `pub+bind:${sinkUrl}` };
    const clientCfg: ClientConfig = defaultClientConfig();
    clientCfg.port = clientPort;
    clientCfg.url = `${secure ? 'https' : 'http'}://127.0.0.1:${httpPort}`;
    clientCfg.inStream = { ...clientCfg.inStream, url: `sub+bind:${sourceUrl}` };
    clientCfg.deadLetterDir = path.join(dir, 'dead-letter');
    clientCfg.retry = { initialDelayMs: 50, maximumDelayMs: 500, multiplier: 2 };

    let pki: DemoPki | undefined;
    if (secure) {
      say(`creating a private CA, server and client certificates and a hash directory in ${dir}`);
      pki = await makePki(dir);
      serverCfg.tls = {
        certificate: pki.serverCert,
        key: pki.serverKey,
        clientAuth: {
          directory: pki.hashDir,
          crlEnabled: true,
          pollIntervalMs: 1000,
          crlExpiryWarningMs: 86_400_000,
        },
      };
      clientCfg.tls = {
        rootCertificate: pki.caCert,
        identity: { certificate: pki.clientCert, key: pki.clientKey },
      };
    }

    const server = await startServer(serverCfg);
    cleanups.push(() => server.close());
    say(
      `server listening on ${server.url} (${secure ? 'mutual TLS, trust dir ' + pki!.hashDir : 'plain HTTP'})`,
    );
    const sink = await SavantReader.open({
      url: `sub+connect:${sinkUrl}`,
      receiveTimeoutMs: 1000,
      receiveHwm: 1000,
      topicPrefixSpec: { kind: 'none' },
      sourceCacheSize: 64,
      inflightOps: 100,
      ack: 'on_read',
    });
    cleanups.push(() => sink.close());
    const client = await startClient(clientCfg);
    cleanups.push(() => client.stop({ drainTimeoutMs: 200 }));
    say(`client health on http://127.0.0.1:${client.port}/health, sending to ${clientCfg.url}`);
    const source = await SavantWriter.open({
      url: `pub+connect:${sourceUrl}`,
      sendTimeoutMs: 1000,
      sendRetries: 3,
      receiveTimeoutMs: 1000,
      receiveRetries: 3,
      sendHwm: 1000,
      receiveHwm: 1000,
    });
    cleanups.push(() => source.close());

    let received = 0;
    let receivedAfterRevocation = 0;
    let revokedAt = 0;
    let lastDeliveryAt = 0;
    void (async () => {
      for (;;) {
        const r = await sink.receive();
        if (!r) return;
        if (r.kind === 'message') {
          received++;
          lastDeliveryAt = Date.now();
          if (revokedAt) receivedAfterRevocation++;
        }
      }
    })();

    // PUB/SUB joins are asynchronous: give the subscription a moment to propagate.
    await new Promise((r) => setTimeout(r, 300));
    const topic = Buffer.from('cam-1');
    let sent = 0;
    const started = Date.now();
    const total = seconds * 1000;
    const interval = 1000 / rate;
    let lastReport = started;
    let revoked = false;
    while (Date.now() - started < total) {
      const frame = buildMessage({
        content: 'video_frame',
        sourceId: 'cam-1',
        payload: Buffer.alloc(256, sent),
      });
      await source.send(topic, frame, [], false);
      sent++;
      const now = Date.now();
      if (now - lastReport >= 1000) {
        lastReport = now;
        say(
          `t=${((now - started) / 1000).toFixed(0)}s sent=${sent} delivered=${received}` +
            (revokedAt ? ` delivered-after-revocation=${receivedAfterRevocation}` : ''),
        );
      }
      if (secure && !revoked && now - started >= total / 2) {
        revoked = true;
        say('revoking the client certificate and publishing a new CRL into the trust directory (no restart)');
        await revokeCertificate(pki!.caDir, pki!.clientCert, 'keyCompromise');
        const { publishedPath } = await generateCrl(pki!.caDir, { publishTo: pki!.hashDir });
        revokedAt = Date.now();
        say(
          `published ${publishedPath ? path.basename(publishedPath) : 'the CRL'}; the server reloads within a second`,
        );
      }
      const next = started + sent * interval;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await new Promise((r) => setTimeout(r, 300));
    say(`done: sent=${sent} delivered=${received}`);
    if (secure && revokedAt) {
      // What was in flight before the server swapped in the new CRL still lands; nothing after.
      const cutOffMs = Math.max(0, lastDeliveryAt - revokedAt);
      say(
        `client cut off ${cutOffMs} ms after the CRL was published (${receivedAfterRevocation} messages ` +
          'delivered in that window), nothing since: the client keeps retrying and the server refuses ' +
          'every handshake with the revoked certificate',
      );
      if (cutOffMs > 1500) {
        say('FAILED: deliveries went on for more than a second after the revocation');
        return 1;
      }
    }
    return received > 0 ? 0 : 1;
  } finally {
    await cleanups.close();
  }
}
