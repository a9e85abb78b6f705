// The fleet end to end: Debian's haproxy in TCP mode (deploy/haproxy/haproxy.cfg, the file docs/fleet.md
// shows) with send-proxy-v2 in front of two gateway servers run by the CLI as separate processes, sharing
// one trust directory and one etcd (users and the shared quarantine), both feeding one ZeroMQ sink. A
// Savant `req` source feeds the client (ack on_delivery), which knows only haproxy's address. Distinct
// loopback addresses model distinct client machines; haproxy connects to the gateways from 127.0.0.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { buildLabPki, type Leaf } from '../helpers/openssl-pki.js';
import { startEtcd } from '../helpers/etcd.js';
import { VECTORS } from '../helpers/basic-auth.js';
import { startCli, repoRoot } from '../helpers/cli.js';
import { freePort, waitForPort } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { sink } from '../server/fixtures.js';
import { clientSetup, range, runClient, sendNumbered, seqOf, source, waitUntil } from '../client/fixtures.js';

export const HAPROXY_CFG = path.join(repoRoot, 'deploy', 'haproxy', 'haproxy.cfg');
const BALANCER = '127.0.0.2';
const secs = (s: number, ms = 0) => ({ secs: s, nanos: ms * 1e6 });

test('fleet behind haproxy: real client addresses, shared quarantine, revocation everywhere, kill -9 without loss', async (t) => {
  const dir = await tempDir(t, 'mg-fleet-');
  const lab = buildLabPki(path.join(dir, 'lab'));
  // one trust directory for both servers (in production: distributed, or a shared volume)
  const trust = path.join(dir, 'trust');
  mkdirSync(trust);
  const put = (name: string, text: string) => {
    writeFileSync(path.join(trust, `.${name}.tmp`), text);
    renameSync(path.join(trust, `.${name}.tmp`), path.join(trust, name));
  };
  for (const ca of [lab.root, lab.inter, lab.ca2]) put(`${ca.hash}.0`, ca.certPem);
  put(`${lab.root.hash}.r0`, lab.crl(lab.root));
  put(`${lab.inter.hash}.r0`, lab.crl(lab.inter));
  put(`${lab.ca2.hash}.r0`, lab.crl(lab.ca2));

  const etcd = await startEtcd(t);
  const kv = new Etcd3({ hosts: etcd.url });
  t.after(() => kv.close());
  await kv.put('/users/edge').value(JSON.stringify({ password_hash: VECTORS['password1'] }));

  const sinkEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const reader = await sink(t, `rep+bind:${sinkEndpoint}`);
  const received: { topic: string; seq: string }[] = [];
  void (async () => {
    for (;;) {
      const r = await reader.receive();
      if (!r) return;
      if (r.kind === 'message')
        received.push({ topic: Buffer.from(r.topic).toString(), seq: seqOf({ media: { data: r.data } }) });
    }
  })();

  const [port1, port2, front] = [await freePort(), await freePort(), await freePort()];
  const opsPorts = [await freePort(), await freePort()];
  const servers = [port1, port2].map((port, i) => {
    const cfgFile = path.join(dir, `server${i + 1}.json`);
    writeFileSync(
      cfgFile,
      JSON.stringify({
        ip: '127.0.0.1',
        port,
        out_stream: {
          url: `req+connect:${sinkEndpoint}`,
          send_timeout: secs(2),
          send_retries: 0,
          receive_timeout: secs(2),
          receive_retries: 0,
          send_hwm: 50,
          receive_hwm: 50,
        },
        tls: {
          identity: { certificate: lab.server.certFile, key: lab.server.keyFile },
          peers: { lookup_hash_directory: trust, crl_enabled: true, poll_interval: secs(0, 200) },
        },
        auth: {
          basic: {
            etcd: {
              urls: [etcd.url],
              path: '/users',
              data_format: 'json',
              lease_timeout: secs(10),
              connect_timeout: secs(2),
              cache: { size: 10 },
            },
            cache: { size: 100 },
            quarantine: {
              period: secs(60),
              failed_attempt_limit: 3,
              shared: { prefix: '/media-gateway/quarantine' },
            },
          },
        },
        proxy_protocol: { trusted: [`${BALANCER}/32`], required: true },
        ops: { port: opsPorts[i] },
      }),
    );
    return startCli(t, ['server', cfgFile]);
  });
  await Promise.all(servers.map((s) => s.waitForOutput(/listening on https:\/\//, 60_000)));

  const haproxy = spawn('haproxy', ['-db', '-f', HAPROXY_CFG], {
    env: {
      ...process.env,
      MG_FRONTEND: `127.0.0.1:${front}`,
      MG_BALANCER_ADDRESS: BALANCER,
      MG_SERVER_1: `127.0.0.1:${port1}`,
      MG_SERVER_2: `127.0.0.1:${port2}`,
      MG_OPS_PORT_1: String(opsPorts[0]),
      MG_OPS_PORT_2: String(opsPorts[1]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let haproxyLog = '';
  haproxy.stdout.on('data', (d) => (haproxyLog += d));
  haproxy.stderr.on('data', (d) => (haproxyLog += d));
  t.after(async () => {
    if (haproxy.exitCode === null) {
      haproxy.kill('SIGKILL');
      await once(haproxy, 'close');
    }
  });
  // an haproxy that cannot start (a bad configuration) says why
  haproxy.once('exit', (code) => code && console.error(`haproxy exited with ${code}:\n${haproxyLog}`));
  await waitForPort(front);
  const url = `https://127.0.0.1:${front}`;

  /** One request on a fresh connection through haproxy, from `localAddress`, presenting `who`. */
  const call = (who: Leaf, localAddress: string, password: string) =>
    new Promise<number>((resolve, reject) => {
      const req = https.request(url + '/', {
        method: 'POST',
        agent: false,
        localAddress,
        ca: lab.server.certPem,
        servername: 'localhost',
        cert: who.chainPem,
        key: who.keyPem,
        headers: {
          Authorization: 'Basic ' + Buffer.from(`edge:${password}`).toString('base64'),
          'Content-Type': 'application/protobuf',
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });

  await t.test(
    'wrong passwords from one client address quarantine that address only, on both servers',
    async () => {
      const attacker = '127.0.0.5';
      // round robin: the three guesses land on both servers; the shared quarantine counts them once
      for (let i = 0; i < 3; i++) assert.equal(await call(lab.clients.good, attacker, 'wrong'), 401);
      const lockedLine = /user quarantined for failed logins from this address[^\n]*remote=127\.0\.0\.5\b/;
      await Promise.race(servers.map((s) => s.waitForOutput(lockedLine)));
      // two fresh connections go to the two servers in turn: both refuse the right password now
      await waitUntil(
        async () =>
          (await call(lab.clients.good, attacker, 'password1')) === 401 &&
          (await call(lab.clients.good, attacker, 'password1')) === 401,
        'locked on both servers',
      );
      // another client address of the same user gets past auth on both (an empty body is a 400 after it)
      assert.equal(await call(lab.clients.good, '127.0.0.6', 'password1'), 400);
      assert.equal(await call(lab.clients.good, '127.0.0.6', 'password1'), 400);
      const all = servers.map((s) => s.output()).join('\n');
      assert.doesNotMatch(all, new RegExp(`quarantined[^\\n]*remote=${BALANCER.replace(/\./g, '\\.')}\\b`));
    },
  );

  await t.test(
    'a revocation in the shared trust directory cuts the client off on every server by the live reload, open connections included',
    async () => {
      // two kept-alive connections through haproxy, one per server (round robin), both serving
      const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
      t.after(() => agent.destroy());
      const who = lab.clients.ca2;
      const get = () =>
        new Promise<number>((resolve, reject) => {
          const req = https.request(url + '/health', {
            agent,
            localAddress: '127.0.0.7',
            ca: lab.server.certPem,
            servername: 'localhost',
            cert: who.chainPem,
            key: who.keyPem,
          });
          req.on('response', (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          });
          req.on('error', reject);
          req.end();
        });
      assert.deepEqual(await Promise.all([get(), get()]), [200, 200]);
      const sockets = Object.values(agent.freeSockets).flat();
      assert.equal(sockets.length, 2, 'two open connections');
      const closed = sockets.map((s) => once(s!, 'close'));
      const cutLine =
        /open connection closed: client certificate no longer accepted[^\n]*remote=127\.0\.0\.7\b/;
      const cutOnServers = servers.map((s) => s.waitForOutput(cutLine, 10_000));
      const started = Date.now();
      put(`${lab.ca2.hash}.r0`, lab.crl(lab.ca2, { revoke: ['ca2'] }));
      await Promise.all([...closed, ...cutOnServers]);
      const elapsed = Date.now() - started;
      console.log(`revocation: both open connections closed ${elapsed} ms after the CRL was published`);
      // The 1 s target is measured by `npm run stress:fleet`, which runs this file with
      // MG_FLEET_REVOCATION_BOUND_MS=1000 (package.json): two server processes and haproxy on a loaded
      // 2-core CI machine cannot promise it in `npm test`. The default 10 s still fails a server that only
      // noticed the CRL at its 30 s full rescan (src/trust/reload-scheduler.ts).
      const bound = Number(process.env.MG_FLEET_REVOCATION_BOUND_MS ?? 10_000);
      assert.ok(elapsed <= bound, `cut off after ${elapsed} ms (bound ${bound} ms)`);
      // and a new connection is refused too
      const again = await get().catch(() => 0);
      assert.notEqual(again, 200);
    },
  );

  await t.test(
    "SIGSTOP of one server: haproxy's /readyz check takes it out of rotation, and no new connection hangs",
    async () => {
      const hangs = (ms: number) =>
        new Promise<never>((_, reject) =>
          // unref'd: a guard that lost its race must not hold the test process open
          setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref(),
        );
      const started = Date.now();
      // frozen: its kernel still completes TCP connects, so only an application-level check sees it
      servers[0].child.kill('SIGSTOP');
      try {
        await waitUntil(() => /gw1 is DOWN/.test(haproxyLog), 'haproxy marks gw1 DOWN', 10_000);
        console.log(`SIGSTOP: haproxy took gw1 out after ${Date.now() - started} ms`);
        // round robin would send every other new connection to the frozen server, where it would wait for
        // haproxy's 70 s server timeout; 20 s tells that apart from a slow answer on a loaded machine
        for (let i = 0; i < 4; i++)
          assert.equal(
            await Promise.race([call(lab.clients.good, '127.0.0.8', 'password1'), hangs(20_000)]),
            400,
          );
      } finally {
        servers[0].child.kill('SIGCONT');
      }
      await waitUntil(() => /gw1 is UP/.test(haproxyLog), 'haproxy marks gw1 UP again', 10_000);
    },
  );

  await t.test(
    'kill -9 of one server mid-stream: the client carries on through haproxy, nothing lost, per-topic order kept',
    async () => {
      const { cfg, endpoint } = await clientSetup(t, url, {
        readerType: 'rep',
        ack: 'on_delivery',
        transport: { mode: 'batch', lanes: 2 },
        extra: {
          tls: {
            rootCertificate: lab.server.certFile,
            identity: { certificate: lab.clients.good.certFile, key: lab.clients.good.keyFile },
          },
          auth: { basic: { username: 'edge', password: 'password1' } },
          retry: { initialDelayMs: 5, maximumDelayMs: 100, multiplier: 2 },
        },
      });
      // the client's leaf file holds the leaf only: its chain goes with it
      writeFileSync(path.join(dir, 'client-chain.pem'), lab.clients.good.chainPem);
      cfg.tls!.identity!.certificate = path.join(dir, 'client-chain.pem');
      const client = await runClient(t, cfg);
      const topics = ['cam1', 'cam2', 'cam3', 'cam4'];
      const perTopic = 20;
      const total = topics.length * perTopic;
      // one req source per topic, all sending at once, so requests are in flight when the server dies
      const sources = await Promise.all(topics.map(() => source(t, 'req', endpoint)));
      let acked = 0;
      let killed: Promise<unknown> | undefined;
      const served200 = async (i: number) => {
        const text = await (await fetch(`http://127.0.0.1:${opsPorts[i]}/metrics`)).text();
        const m = /media_gateway_http_responses_total\{side="server",status="200"\} (\d+)/.exec(text);
        return Number(m?.[1] ?? 0);
      };
      await Promise.all(
        topics.map(async (topic, i) => {
          for (let n = 0; n < perTopic; n++) {
            const seq = String(n * topics.length + i);
            const r = await sendNumbered(sources[i], topic, seq);
            assert.equal(r.kind, 'ack', `message ${seq} acknowledged`);
            if (++acked === 30) {
              // server 1 has been carrying part of the stream: now it dies without a word
              assert.ok((await served200(0)) > 0, 'server 1 served requests before it was killed');
              servers[0].child.kill('SIGKILL');
              killed = once(servers[0].child, 'close');
            }
          }
        }),
      );
      await killed;
      await waitUntil(
        () => new Set(received.map((r) => `${r.topic}/${r.seq}`)).size >= total,
        'every message at the sink',
      );
      for (const [i, topic] of topics.entries()) {
        const firsts: string[] = [];
        for (const r of received) if (r.topic === topic && !firsts.includes(r.seq)) firsts.push(r.seq);
        assert.deepEqual(
          firsts,
          range(total).filter((s) => Number(s) % topics.length === i),
          `${topic} in order`,
        );
      }
      const duplicates = received.length - total;
      assert.ok((await served200(1)) > 0, 'server 2 carried the rest');
      console.log(
        `kill -9: ${total} messages, 0 lost, ${duplicates} duplicated at the sink, ${client.stats().retries} client retries`,
      );
    },
  );

  // the gateways saw the clients' addresses, never haproxy's, in what they logged about clients
  const logs = servers.map((s) => s.output()).join('\n');
  assert.match(
    logs,
    /remote=127\.0\.0\.7\b[^\n]*via=127\.0\.0\.2\b|via=127\.0\.0\.2\b[^\n]*remote=127\.0\.0\.7\b/,
  );
  assert.doesNotMatch(logs, /remote=127\.0\.0\.2\b/);
  assert.doesNotMatch(
    logs,
    /PROXY protocol header/,
    "haproxy's connections (checks included) all carried a valid header",
  );
});

test('docs/fleet.md shows deploy/haproxy/haproxy.cfg exactly as the fleet test runs it', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(path.join(repoRoot, 'docs', 'fleet.md'), 'utf8');
  const cfg = await readFile(HAPROXY_CFG, 'utf8');
  assert.ok(doc.includes('```\n' + cfg + '```\n'), 'docs/fleet.md holds the whole file in one code block');
});

test('deploy/haproxy/haproxy.cfg is valid for haproxy -c', async () => {
  const env = {
    ...process.env,
    MG_FRONTEND: '127.0.0.1:18443',
    MG_BALANCER_ADDRESS: BALANCER,
    MG_SERVER_1: '127.0.0.1:18444',
    MG_SERVER_2: '127.0.0.1:18445',
    MG_OPS_PORT_1: '18446',
    MG_OPS_PORT_2: '18447',
  };
  const check = spawn('haproxy', ['-c', '-f', HAPROXY_CFG], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  check.stdout.on('data', (d) => (out += d));
  check.stderr.on('data', (d) => (out += d));
  const [code] = (await once(check, 'close')) as [number];
  assert.equal(code, 0, out);
});
