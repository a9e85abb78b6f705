// The client's start-up (the preflight checks, its TLS identity, the running pipeline) loads no X.509
// parsing library: @peculiar/x509 and the ~200 modules it brings were ~6 MB of the client's heap and ~0.2 s
// of its start-up CPU, and only the server's trust store uses them (src/preflight/trust.ts,
// src/codec/serial.ts; figures in docs/benchmark.md, "Client heap").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCli } from '../helpers/cli.js';
import { clientJson } from '../helpers/config-json.js';
import { freePort } from '../helpers/net.js';
import { buildLabPki } from '../helpers/openssl-pki.js';
import { tempDir } from '../helpers/tmp.js';

/** Preloaded into the client: on SIGUSR2 it prints the npm packages whose CommonJS modules are loaded. */
const REPORT_PACKAGES = `
const Module = require('node:module');
process.on('SIGUSR2', () => {
  const names = new Set();
  for (const file of Object.keys(Module._cache)) {
    const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
    if (m) names.add(m[1].replace(/\\\\/g, '/'));
  }
  process.stderr.write('LOADED ' + JSON.stringify([...names].sort()) + '\\n');
});
`;

test('a running TLS client with a client certificate has not loaded @peculiar/x509', async (t) => {
  const dir = await tempDir(t, 'mg-light-start-');
  const lab = buildLabPki(path.join(dir, 'pki'));
  const hook = path.join(dir, 'report-packages.cjs');
  writeFileSync(hook, REPORT_PACKAGES);
  const file = path.join(dir, 'client.json');
  const tls = {
    root_certificate: lab.server.certFile,
    identity: { certificate: lab.clients.good.certFile, key: lab.clients.good.keyFile },
  };
  const url = `https://127.0.0.1:${await freePort()}`;
  writeFileSync(file, clientJson({ port: 0, url, tls }, { url: `sub+bind:ipc://${dir}/in` }));
  const client = startCli(t, ['client', file], { env: { NODE_OPTIONS: `--require ${hook}` } });
  await client.waitForOutput(/listening on http:\/\/127\.0\.0\.1:\d+/);
  client.child.kill('SIGUSR2');
  const line = await client.waitForOutput(/LOADED \[.*\]/);
  const packages = JSON.parse(line.slice('LOADED '.length)) as string[];
  // the report works: the client's own dependencies are in it
  assert.ok(packages.includes('pino'), line);
  assert.ok(!packages.includes('@peculiar/x509'), line);
  assert.ok(!packages.includes('reflect-metadata'), line);
});
