// A real single-member etcd (Debian etcd 3.4) on free loopback ports with a temporary data directory,
// for tests of the etcd-backed user store. stop()/start() keep the data dir and the ports, so a test can
// take etcd away and bring it back with the same contents. Optional TLS with client-certificate auth,
// certificates made with the openssl CLI.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { freePort } from './net.js';

const run = promisify(execFile);

export interface EtcdTlsFiles {
  /** CA that signed the server and client certificates */
  caFile: string;
  clientCert: string;
  clientKey: string;
}

export interface RunningEtcd {
  url: string;
  dataDir: string;
  /** present when started with { tls: true } */
  tls?: EtcdTlsFiles;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function makeTlsFiles(dir: string): Promise<EtcdTlsFiles & { serverCert: string; serverKey: string }> {
  const p = (n: string) => path.join(dir, n);
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ossl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=etcd test CA',
  );
  const leaf = async (name: string, ext: string) => {
    await ossl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    );
    await writeFile(p(`${name}.ext`), ext);
    await ossl(
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    );
  };
  await leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await leaf('client', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
}

/** Resolves when etcd's /health says true; the member is then ready for KV calls. */
async function waitHealthy(
  url: string,
  tls: EtcdTlsFiles | undefined,
  proc: ChildProcess,
  log: () => string,
) {
  const deadline = Date.now() + 20_000;
  const opts = tls
    ? {
        ca: await readFile(tls.caFile),
        cert: await readFile(tls.clientCert),
        key: await readFile(tls.clientKey),
      }
    : {};
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = (tls ? https : http).get(`${url}/health`, { ...opts, timeout: 1000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`etcd at ${url} not healthy in time:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startEtcd(
  t: { after(fn: () => unknown): void },
  opts: { tls?: boolean } = {},
): Promise<RunningEtcd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mg-etcd-'));
  const dataDir = path.join(dir, 'data');
  const clientPort = await freePort();
  const peerPort = await freePort();
  const tlsFiles = opts.tls ? await makeTlsFiles(dir) : undefined;
  const scheme = tlsFiles ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name',
    'mg-test',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    url,
    '--advertise-client-urls',
    url,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `mg-test=${peer}`,
    '--log-level',
    'error',
    ...(tlsFiles
      ? [
          '--cert-file',
          tlsFiles.serverCert,
          '--key-file',
          tlsFiles.serverKey,
          '--client-cert-auth',
          '--trusted-ca-file',
          tlsFiles.caFile,
        ]
      : []),
  ];
  let proc: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) return;
    const child = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await waitHealthy(url, tlsFiles, child, () => output);
  };
  const stop = async () => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  // One hook that kills etcd before removing its data dir (a live etcd would keep writing into it).
  t.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  await start();
  return { url, dataDir, tls: tlsFiles, stop, start };
}
