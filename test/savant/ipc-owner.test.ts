// Who owns an ipc endpoint: libzmq's bind unlinks whatever file is at the path, so without a check a second
// process silently takes the endpoint from a live one. Real gateway processes (the built CLI) and raw
// zeromq sockets on ipc paths in temp dirs; a live socket is refused with the URL named, a stale one from a
// killed process is reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as zmq from 'zeromq';
import { runCli, startCli } from '../helpers/cli.js';
import { clientJson, serverJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia } from '../../src/savant/media.js';
import { SavantReader } from '../../src/savant/reader.js';
import { SavantWriter } from '../../src/savant/writer.js';
import { post } from '../server/http-client.js';
import { openWriter, readerCfg, writerCfg } from './harness.js';

async function serverConfig(
  dir: string,
  name: string,
  sock: string,
): Promise<{ file: string; port: number }> {
  const port = await freePort();
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, serverJson({ port }, { url: `pub+bind:ipc://${sock}` }));
  return { file, port };
}

function startServer(t: Parameters<typeof startCli>[0], file: string, port: number) {
  const cli = startCli(t, ['server', file]);
  return { cli, listening: cli.waitForOutput(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`)) };
}

const media = (topic: string) =>
  encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: topic }),
    topic: Buffer.from(topic),
    data: [],
  });

/** POSTs to the server until the subscriber reads one message (PUB drops until the subscription is in). */
async function deliveredThrough(port: number, sub: zmq.Subscriber): Promise<Buffer[]> {
  const got = sub.receive();
  // bounded by time, not by a count of 25 ms waits: a loaded machine stretches the subscription's arrival
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    assert.equal((await post(`http://127.0.0.1:${port}/`, media('cam'))).status, 200);
    const frames = await Promise.race([got, new Promise<null>((r) => setTimeout(() => r(null), 25))]);
    if (frames) return frames;
  }
  throw new Error('no message reached the subscriber');
}

test('a second gateway server on the ipc path of a live one is refused with the URL named; the first keeps it', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'out.ipc');
  const first = await serverConfig(dir, 'first', sock);
  const second = await serverConfig(dir, 'second', sock);
  await startServer(t, first.file, first.port).listening;

  const refused = await runCli(['server', second.file], { timeoutMs: 60_000 });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`ipc endpoint pub\\+bind:ipc://${sock} is in use`));
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');

  // the sink still hears the first server on that path
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 30_000 });
  t.after(() => sub.close());
  sub.subscribe();
  sub.connect(`ipc://${sock}`);
  const [topic] = await deliveredThrough(first.port, sub);
  assert.equal(topic.toString(), 'cam');
});

test('the socket file left by a killed gateway server is reused by the next start', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'out.ipc');
  const killed = await serverConfig(dir, 'killed', sock);
  const { cli, listening } = startServer(t, killed.file, killed.port);
  await listening;
  cli.child.kill('SIGKILL');
  await once(cli.child, 'exit');
  assert.ok((await stat(sock)).isSocket(), 'the killed process left its socket file');

  const next = await serverConfig(dir, 'next', sock);
  await startServer(t, next.file, next.port).listening;
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 30_000 });
  t.after(() => sub.close());
  sub.subscribe();
  sub.connect(`ipc://${sock}`);
  await deliveredThrough(next.port, sub);
});

test('a gateway client whose reader ipc path a live process serves is refused with the URL named', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'in.ipc');
  const holder = new zmq.Publisher({ linger: 0 });
  t.after(() => holder.close());
  await holder.bind(`ipc://${sock}`);
  const file = path.join(dir, 'client.json');
  await writeFile(file, clientJson({ port: await freePort() }, { url: `sub+bind:ipc://${sock}` }));
  const r = await runCli(['client', file], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`ipc endpoint sub\\+bind:ipc://${sock} is in use`));
});

test('writer and reader refuse an ipc path bound by another socket; the holder keeps receiving', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'held.ipc');
  const holder = new zmq.Pull({ linger: 0, receiveTimeout: 5000 });
  t.after(() => holder.close());
  await holder.bind(`ipc://${sock}`);
  for (const url of [`pub+bind:ipc://${sock}`, `dealer+bind:ipc://${sock}`]) {
    await assert.rejects(SavantWriter.open(writerCfg(url)), {
      code: 'ipc_endpoint_in_use',
      message: /is in use/,
    });
  }
  await assert.rejects(SavantReader.open(readerCfg(`router+bind:ipc://${sock}`)), {
    code: 'ipc_endpoint_in_use',
    message: new RegExp(`router\\+bind:ipc://${sock}`),
  });
  const push = new zmq.Push({ linger: 0 });
  t.after(() => push.close());
  push.connect(`ipc://${sock}`);
  await push.send('still mine');
  assert.equal((await holder.receive()).toString(), 'still mine');
});

test('a file at the ipc path that is not a socket is refused and left alone', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'notes.txt');
  await writeFile(file, 'keep me\n');
  await assert.rejects(SavantWriter.open(writerCfg(`pub+bind:ipc://${file}`)), {
    code: 'ipc_path_not_socket',
    message: /is not a socket; binding would delete it/,
  });
  assert.equal(await readFile(file, 'utf8'), 'keep me\n');
});

test('a writer closed and opened again on the same ipc path in one process binds it again', async (t) => {
  const dir = await tempDir(t);
  const url = `pub+bind:ipc://${path.join(dir, 'again.ipc')}`;
  const first = await SavantWriter.open(writerCfg(url));
  await first.close();
  await openWriter(t, writerCfg(url));
});

/** A child process listening on a unix socket with a tiny backlog, stopped (SIGSTOP) so it never accepts. */
async function stoppedListener(t: Parameters<typeof startCli>[0], socketPath: string) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('net').createServer().listen({ path: process.argv[1], backlog: 1 }, () => console.log('ready'))`,
      socketPath,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  await once(child.stdout!, 'data');
  child.kill('SIGSTOP');
  return child;
}

test('a process that is stopped, not dead, still owns its endpoint', async (t) => {
  const sock = path.join(await tempDir(t), 'stopped.ipc');
  await stoppedListener(t, sock);
  // the kernel completes a connection into the backlog of a stopped listener: that is a live endpoint
  await assert.rejects(SavantWriter.open(writerCfg(`pub+bind:ipc://${sock}`)), {
    code: 'ipc_endpoint_in_use',
  });
});

test('when the probe cannot tell (a full backlog answers EAGAIN), the bind is refused, not attempted', async (t) => {
  const sock = path.join(await tempDir(t), 'full.ipc');
  await stoppedListener(t, sock);
  // fill the backlog: connections queue until the kernel answers EAGAIN
  for (let i = 0; ; i++) {
    assert.ok(i < 16, 'the backlog fills');
    const filler = createConnection({ path: sock });
    t.after(() => filler.destroy());
    try {
      await once(filler, 'connect'); // events.once rejects on 'error'
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
  }
  await assert.rejects(SavantWriter.open(writerCfg(`pub+bind:ipc://${sock}`)), {
    code: 'ipc_probe_failed',
    message: new RegExp(
      `cannot tell whether ipc endpoint pub\\+bind:ipc://${sock} is in use .*refusing to replace it`,
    ),
  });
  assert.ok((await stat(sock)).isSocket(), 'the listener keeps its socket file');
});
