// `media-gateway client` as an operator runs it (the built CLI in a child process): --help, --check on the
// original's sample configs, and SIGTERM draining the queue before exit 0.
import { test } from 'node:test';
import { makePki } from '../../src/pki/index.js';
import assert from 'node:assert/strict';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, sharedDir, startCli } from '../helpers/cli.js';
import { HttpSink } from '../helpers/http-sink.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { gate, range, sendNumbered, seqOf, source, waitUntil } from './fixtures.js';

const samples = path.join(sharedDir, 'compat', 'original-samples');

test('client --help', async () => {
  const r = await runCli(['client', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: media-gateway client \[--config FILE \| FILE\] \[--check\]/);
});

test('client --check accepts every original client sample (with the files they name)', async (t) => {
  const dir = await tempDir(t);
  // --check proves the files (src/preflight/): real certificates from our PKI
  const pki = await makePki(path.join(dir, 'pki'));
  for (const [f, from] of [
    ['ca.crt', pki.caCert],
    ['server.crt', pki.serverCert],
    ['client.crt', pki.clientCert],
    ['client.key', pki.clientKey],
  ])
    await copyFile(from, path.join(dir, f));
  const files = [
    ...(await readdir(path.join(samples, 'client'))).map((f) => path.join(samples, 'client', f)),
    path.join(samples, 'e2e', 'client_config.json'),
  ];
  assert.ok(files.length >= 7);
  for (const src of files) {
    const copy = path.join(dir, `${path.basename(path.dirname(src))}-${path.basename(src)}`);
    await copyFile(src, copy);
    const r = await runCli(['client', '--check', copy]);
    assert.equal(r.code, 0, `${src}: ${r.stderr}`);
    assert.match(r.stdout, /configuration OK/);
  }
});

test('client --check names a missing referenced file and exits 1', async (t) => {
  const dir = await tempDir(t);
  await copyFile(path.join(samples, 'client', 'certificate_auth_config.json'), path.join(dir, 'c.json'));
  await writeFile(path.join(dir, 'ca.crt'), 'PEM\n');
  await writeFile(path.join(dir, 'client.crt'), 'PEM\n');
  const r = await runCli(['client', '--check', path.join(dir, 'c.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /client\.key/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('client --check reports a configuration error with its place and exits 1', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'bad.json');
  await writeFile(
    file,
    JSON.stringify({
      ip: '127.0.0.1',
      port: 8081,
      url: 'http://x',
      in_stream: { url: 'pub+bind:ipc:///tmp/x' },
    }),
  );
  const r = await runCli(['client', '--check', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.json: \$\.in_stream\.url: .*reader/);
  assert.doesNotMatch(r.stdout, /configuration OK/);
});

test('client: a start-up failure (health port taken) is a clear error and exit 1', async (t) => {
  const dir = await tempDir(t);
  const blocker = await HttpSink.start();
  t.after(() => blocker.close());
  const file = path.join(dir, 'c.json');
  await writeFile(
    file,
    JSON.stringify({
      ip: '127.0.0.1',
      port: blocker.port,
      url: 'http://127.0.0.1:1',
      in_stream: {
        url: `router+bind:ipc://${path.join(dir, 'in')}`,
        receive_timeout: { secs: 1, nanos: 0 },
        receive_hwm: 10,
        topic_prefix_spec: { none: null },
        source_cache_size: 10,
        inflight_ops: 10,
      },
    }),
  );
  const r = await runCli(['client', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot start: .*EADDRINUSE/);
});

test('client: SIGTERM stops reading, delivers what is queued, exits 0; FPS lines count deliveries', async (t) => {
  const hold = gate();
  const sink = await HttpSink.start({ respond: async () => (await hold.wait(), 200) });
  t.after(() => sink.close());
  const dir = await tempDir(t);
  const endpoint = `ipc://${path.join(dir, 'in')}`;
  const config = {
    ip: '127.0.0.1',
    port: await freePort(),
    url: sink.url,
    in_stream: {
      url: `router+bind:${endpoint}`,
      receive_timeout: { secs: 0, nanos: 100_000_000 },
      receive_hwm: 1000,
      topic_prefix_spec: { none: null },
      source_cache_size: 100,
      inflight_ops: 100,
    },
    retry_strategy: {
      exponential: {
        initial_delay: { secs: 0, nanos: 5_000_000 },
        maximum_delay: { secs: 0, nanos: 50_000_000 },
        multiplier: 2,
      },
    },
    shutdown_timeout: { secs: 10, nanos: 0 },
    transport: { mode: 'single', lanes: 1 },
    statistics: { frame_period: 5 },
  };
  const file = path.join(dir, 'client.json');
  await writeFile(file, JSON.stringify(config));
  const cli = startCli(t, ['client', file], { env: { LOG_LEVEL: 'info', LOG_FORMAT: '' } });
  await cli.waitForOutput(/listening on http:\/\/127\.0\.0\.1:\d+/);
  const dealer = await source(t, 'dealer', endpoint);
  for (const seq of range(5)) await sendNumbered(dealer, 'cam1', seq);
  await sink.waitFor(() => sink.inflight === 1, 'the first request');
  // with ack on_read, messages still in the socket at SIGTERM are not the client's yet: wait until all are read
  const metricsUrl = `http://127.0.0.1:${config.port}/metrics`;
  await waitUntil(
    async () =>
      /messages_total\{side="client",outcome="read"\} 5\b/.test(await (await fetch(metricsUrl)).text()),
    'five messages read',
  );
  const exited = new Promise<number | null>((resolve) => cli.child.once('exit', (code) => resolve(code)));
  cli.child.kill('SIGTERM');
  await cli.waitForOutput(/stopping/);
  hold.open();
  assert.equal(await exited, 0, cli.output());
  assert.deepEqual(sink.accepted.map(seqOf), range(5));
  // counted at delivery (200), like the original client
  assert.match(
    cli.output(),
    /\[\S+Z INFO {2}savant_core::pipeline::stats\] Frame-based FPS counter triggered: FPS = [\d.]+, OPS = 0\.00, frame_delta = 5, /,
  );
});
