// `media-gateway server` as an operator runs it (the built CLI in a child process): --check on every
// sample configuration of the original, clear config errors without stack traces, a real run that
// logs "listening on", serves, and exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, cp, readdir, writeFile } from 'node:fs/promises';
import { makePki } from '../../src/pki/index.js';
import { once } from 'node:events';
import path from 'node:path';
import { runCli, sharedDir, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/net.js';
import { serverJson } from '../helpers/config-json.js';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia } from '../../src/savant/media.js';
import { post, request } from './http-client.js';

const samples = path.join(sharedDir, 'compat', 'original-samples');

/**
 * The files the sample configs name, made real: a server pair and a trust directory (a CA with its CRL) from
 * our PKI, since --check proves them (src/preflight/); the etcd files reuse the CA and the client pair.
 */
async function materialise(dir: string): Promise<void> {
  const pki = await makePki(path.join(dir, 'pki'));
  await copyFile(pki.serverCert, path.join(dir, 'server.crt'));
  await copyFile(pki.serverKey, path.join(dir, 'server.key'));
  await copyFile(pki.caCert, path.join(dir, 'etcd-ca.crt'));
  await copyFile(pki.clientCert, path.join(dir, 'etcd-client.crt'));
  await copyFile(pki.clientKey, path.join(dir, 'etcd-client.key'));
  await cp(pki.hashDir, path.join(dir, 'lookup-hash-dir'), { recursive: true });
}

test('--check accepts every original server sample and the e2e server config', async (t) => {
  const dir = await tempDir(t);
  await materialise(dir);
  const files = (await readdir(path.join(samples, 'server'))).map((f) => path.join(samples, 'server', f));
  files.push(path.join(samples, 'e2e', 'server_config.json'));
  for (const src of files) {
    const dst = path.join(dir, path.basename(src));
    await copyFile(src, dst);
    const r = await runCli(['server', dst, '--check']);
    assert.equal(r.code, 0, `${path.basename(src)}: ${r.stderr}`);
    assert.match(r.stdout, /^configuration OK$/m, path.basename(src));
  }
});

test('--check without a file checks the embedded default', async () => {
  const r = await runCli(['server', '--check']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration OK/);
});

test('configuration errors: a clear message naming the problem, exit 1, no stack trace', async (t) => {
  const dir = await tempDir(t);
  const missingCert = path.join(dir, 'https.json');
  await copyFile(path.join(samples, 'server', 'https_config.json'), missingCert);
  const broken = path.join(dir, 'broken.json');
  await writeFile(broken, '{ "ip": "127.0.0.1", "port": ');
  const cases: [string[], RegExp][] = [
    [['server', missingCert, '--check'], /server\.(crt|key)/],
    [['server', broken, '--check'], /broken\.json/],
    [['server', broken], /broken\.json/],
    [['server', path.join(dir, 'absent.json'), '--check'], /absent\.json/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('--help prints the usage; unknown options are refused', async () => {
  const help = await runCli(['server', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: media-gateway server/);
  const bad = await runCli(['server', '--bogus']);
  assert.equal(bad.code, 2);
});

test('runs until SIGTERM: logs "listening on", serves, logs FPS statistics lines, exits 0', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const cfg = path.join(dir, 'server.json');
  await writeFile(
    cfg,
    serverJson(
      { port, statistics: { frame_period: 2 } },
      { url: `pub+bind:ipc://${path.join(dir, 'out.sock')}` },
    ),
  );
  const cli = startCli(t, ['server', cfg]);
  await cli.waitForOutput(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
  const h = await request(`http://127.0.0.1:${port}/health`);
  assert.equal(h.body.toString(), '{"status":"healthy"}');
  // two forwarded messages (PUB without subscribers still succeeds) make one frame-based line
  const body = encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: 'cam1' }),
    topic: new TextEncoder().encode('cam1'),
    data: [],
  });
  for (let i = 0; i < 2; i++) assert.equal((await post(`http://127.0.0.1:${port}/`, body)).status, 200);
  const line = await cli.waitForOutput(/\[[^\]]+\] Frame-based FPS counter triggered: [^\n]*/);
  assert.match(
    line,
    /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO {2}savant_core::pipeline::stats\] Frame-based FPS counter triggered: FPS = \S+, OPS = 0\.00, frame_delta = 2, time_delta = [\d.]+ sec, period=\[\d+, \d+\] ms$/,
  );
  cli.child.kill('SIGTERM');
  const [code] = await once(cli.child, 'exit');
  assert.equal(code, 0, cli.output());
});
