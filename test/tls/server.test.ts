// Real mutual-TLS handshakes against createSecureListener with a hash directory changed while the
// server runs. Certificates and CRLs come from the openssl CLI (test/helpers/openssl-pki).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { once } from 'node:events';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync, mkdirSync, copyFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLabPki, type LabPki, type Leaf } from '../helpers/openssl-pki.js';
import { createSecureListener, type SecureListener } from '../../src/tls/server.js';
import { trustProblems, tlsRejectionsTotal, liveConnectionsClosedTotal } from '../../src/metrics/registry.js';

let lab: LabPki;
let base: string;
let n = 0;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-tls-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

interface Running {
  listener: SecureListener;
  port: number;
  dir: string;
  put(name: string, content: string): void;
  /** resolves after the next 'reload' (or 'tick') of the trust store */
  next(event?: 'reload' | 'tick'): Promise<unknown>;
}

async function start(
  t: { after(fn: () => unknown): void },
  files: Record<string, string>,
  crlEnabled = true,
): Promise<Running> {
  const dir = path.join(base, `store-${++n}`);
  mkdirSync(dir);
  const put = (name: string, content: string) => {
    // atomic publish, as operators should: write a temp file then rename
    const tmp = path.join(dir, `.tmp-${name}`);
    writeFileSync(tmp, content);
    renameSync(tmp, path.join(dir, name));
  };
  for (const [k, v] of Object.entries(files)) put(k, v);
  const ref: { listener?: SecureListener } = {};
  const handler: http.RequestListener = (req, res) => {
    const c = ref.listener!.check(req);
    if (!c.ok) {
      res.writeHead(401, { connection: 'close' });
      res.end(c.reason);
      return;
    }
    const reused = (req.socket as TLSSocket).isSessionReused();
    res.end(`ok ${c.identity?.commonName ?? ''}${reused ? ' reused' : ''}`);
  };
  const listener = await createSecureListener(
    {
      certificate: lab.server.certFile,
      key: lab.server.keyFile,
      clientAuth: { directory: dir, crlEnabled, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
    },
    handler,
  );
  ref.listener = listener;
  listener.server.listen(0, '127.0.0.1');
  await once(listener.server, 'listening');
  t.after(() => listener.close());
  const port = (listener.server.address() as { port: number }).port;
  return {
    listener,
    port,
    dir,
    put,
    next: (event = 'reload') => once(event === 'tick' ? listener.reloads! : listener.trust!, event),
  };
}

type Outcome = { status: number; body: string; socket: TLSSocket } | { error: string };

function get(port: number, who: Leaf | null, agent?: https.Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: lab.server.certPem,
        ...(agent ? { agent } : { agent: false, ...(who ? { key: who.keyPem, cert: who.certPem } : {}) }),
      },
      (res) => {
        const socket = res.socket as TLSSocket; // a keep-alive agent detaches it at 'end'
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, socket }));
      },
    );
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

/** An HTTPS agent presenting `who`'s certificate and trusting the test server; destroyed after the test. */
function clientAgent(
  t: { after(fn: () => unknown): void },
  who: Leaf,
  opts: https.AgentOptions,
): https.Agent {
  const agent = new https.Agent({ ...opts, key: who.keyPem, cert: who.certPem, ca: lab.server.certPem });
  t.after(() => agent.destroy());
  return agent;
}

const accepted = (o: Outcome) => 'status' in o && o.status === 200;
async function counter(metric: typeof tlsRejectionsTotal, reason: string): Promise<number> {
  return (await metric.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}
/** Asserts that `who` is refused and counted under `reason`. */
async function refused(r: Running, who: Leaf | null, reason: string): Promise<void> {
  const before = await counter(tlsRejectionsTotal, reason);
  const o = await get(r.port, who);
  assert.ok(!accepted(o), `expected refusal (${reason}), got ${JSON.stringify('status' in o ? o.body : o)}`);
  assert.equal(await counter(tlsRejectionsTotal, reason), before + 1, `counted as ${reason}`);
}

function standard(): Record<string, string> {
  return {
    [`${lab.root.hash}.0`]: lab.root.certPem,
    [`${lab.inter.hash}.0`]: lab.inter.certPem,
    [`${lab.root.hash}.r0`]: lab.crl(lab.root),
    [`${lab.inter.hash}.r0`]: lab.crl(lab.inter, { revoke: ['revoked'] }),
  };
}

test('handshake verdicts: good, root-issued, revoked, expired, wrong EKU, unknown CA, no certificate', async (t) => {
  const r = await start(t, standard());
  const good = await get(r.port, lab.clients.good);
  assert.ok('status' in good && good.status === 200 && good.body === 'ok client-good');
  assert.ok(accepted(await get(r.port, lab.clients.rootIssued)));
  // the client sending its intermediate too changes nothing
  assert.ok(accepted(await get(r.port, { ...lab.clients.good, certPem: lab.clients.good.chainPem })));
  await refused(r, lab.clients.revoked, 'revoked');
  await refused(r, lab.clients.expired, 'certificate_expired');
  await refused(r, lab.clients.wrongEku, 'wrong_purpose');
  await refused(r, lab.clients.ca2, 'unknown_ca');
  await refused(r, lab.clients.rogue, 'unknown_ca');
  await refused(r, null, 'no_certificate');
  assert.deepEqual(r.listener.health(), { healthy: true, reasons: [] });
});

test('CRL changes at run time: missing (intermediate, root), older, future, bad signature, restored', async (t) => {
  const files = standard();
  const r = await start(t, files);
  const inter = `${lab.inter.hash}.r0`;
  const root = `${lab.root.hash}.r0`;
  let reload = r.next();
  unlinkSync(path.join(r.dir, inter));
  await reload;
  await refused(r, lab.clients.good, 'crl_missing');
  assert.ok(
    accepted(await get(r.port, lab.clients.rootIssued)),
    'the root CRL still covers root-issued clients',
  );
  assert.equal(r.listener.health().healthy, false);

  // an older CRL than the one in force is a rollback (src/trust/floors.ts); a CRL from the future is not in
  // force yet; a CRL with a bad signature keeps the file's previous content (the future one) in force
  for (const [crl, reason] of [
    [
      lab.crl(lab.inter, { lastUpdate: new Date('2025-01-01Z'), nextUpdate: new Date('2025-02-01Z') }),
      'crl_rollback',
    ],
    [
      lab.crl(lab.inter, { lastUpdate: new Date('2040-01-01Z'), nextUpdate: new Date('2040-02-01Z') }),
      'crl_not_yet_valid',
    ],
  ] as const) {
    reload = r.next();
    r.put(inter, crl);
    await reload;
    await refused(r, lab.clients.good, reason);
  }
  r.put(inter, lab.badSignature(lab.crl(lab.inter)));
  await r.listener.trust!.reload(); // nothing changes in force, so no 'reload' event
  assert.ok(r.listener.trust!.problems().some((p) => p.code === 'crl_kept'));
  await refused(r, lab.clients.good, 'crl_not_yet_valid');
  reload = r.next();
  r.put(inter, files[inter]);
  await reload;
  assert.ok(accepted(await get(r.port, lab.clients.good)));

  reload = r.next();
  unlinkSync(path.join(r.dir, root));
  await reload;
  await refused(r, lab.clients.good, 'crl_missing');
  await refused(r, lab.clients.rootIssued, 'crl_missing');
});

test('in-place CRL rewrite revokes: new connections refused, the open keep-alive connection closed by the live reload', async (t) => {
  const r = await start(t, standard());
  const agent = clientAgent(t, lab.clients.good, { keepAlive: true });
  const first = await get(r.port, null, agent);
  assert.ok('socket' in first && first.status === 200);
  const live = first.socket;
  const closed = once(live, 'close');
  const liveBefore = await counter(liveConnectionsClosedTotal, 'revoked');
  const t0 = Date.now();
  writeFileSync(
    path.join(r.dir, `${lab.inter.hash}.r0`),
    lab.crl(lab.inter, { revoke: ['revoked', 'good'] }),
  ); // in place
  await closed;
  // The 1 s target (a file event, or the 1 s poll) is the stress suite's to measure (test/stress:
  // revocationMs); here it missed 1 s in 3 of 4 runs on a loaded 2-core machine (1048-1587 ms). 10 s still
  // fails a server that only noticed the rewrite at its 30 s full rescan (src/trust/reload-scheduler.ts).
  assert.ok(Date.now() - t0 < 10_000, `closed after ${Date.now() - t0} ms`);
  assert.equal(await counter(liveConnectionsClosedTotal, 'revoked'), liveBefore + 1);
  await refused(r, lab.clients.good, 'revoked');
});

test('a revoking reload cuts the open connection before it rebuilds the TLS context (which costs the event loop tens of ms under load)', async (t) => {
  const r = await start(t, standard());
  const serverSide: TLSSocket[] = [];
  r.listener.server.on('secureConnection', (s: TLSSocket) => serverSide.push(s));
  const agent = clientAgent(t, lab.clients.good, { keepAlive: true });
  const first = await get(r.port, null, agent);
  assert.ok('socket' in first && first.status === 200);
  assert.equal(serverSide.length, 1);
  const cutWhenRebuilt: boolean[] = [];
  const server = r.listener.server as https.Server;
  const setSecureContext = server.setSecureContext.bind(server);
  server.setSecureContext = (options) => {
    cutWhenRebuilt.push(serverSide[0].destroyed);
    setSecureContext(options);
  };
  const reloaded = r.next('reload');
  r.put(`${lab.inter.hash}.r0`, lab.crl(lab.inter, { revoke: ['revoked', 'good'] }));
  await reloaded;
  assert.deepEqual(cutWhenRebuilt, [true]);
});

/**
 * A real TCP relay in front of the server that forwards the client's first flight (ClientHello) and
 * holds everything the client sends after it until `release()`: the server has then picked its
 * SecureContext, but the handshake cannot complete. Makes "a handshake in progress across a trust
 * reload" deterministic without sleeps.
 */
async function holdingRelay(
  t: { after(fn: () => unknown): void },
  port: number,
): Promise<{ port: number; held: Promise<void>; release(): void }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let held!: () => void;
  const heldP = new Promise<void>((r) => (held = r));
  const relay = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    up.pipe(down);
    let chunks = 0;
    down.on('data', (d: Buffer) => {
      if (chunks++ === 0) return void up.write(d);
      down.pause();
      held();
      void released.then(() => {
        up.write(d);
        down.pipe(up);
        down.resume();
      });
    });
    const end = () => {
      up.destroy();
      down.destroy();
    };
    up.on('error', end).on('close', end);
    down.on('error', end).on('close', end);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  t.after(() => new Promise((r) => relay.close(r)));
  return { port: (relay.address() as net.AddressInfo).port, held: heldP, release };
}

test('a handshake in progress across a revoking reload is refused (its OpenSSL verdict predates the CRL)', async (t) => {
  const r = await start(t, standard());
  const relay = await holdingRelay(t, r.port);
  const before = await counter(tlsRejectionsTotal, 'revoked');
  const pending = get(relay.port, lab.clients.good);
  await relay.held; // the server has the ClientHello: this connection uses the pre-reload context
  const reload = r.next();
  r.put(`${lab.inter.hash}.r1`, lab.crl(lab.inter, { revoke: ['revoked', 'good'] }));
  await reload;
  relay.release();
  const o = await pending;
  assert.ok(!accepted(o), `the revoked client got through: ${JSON.stringify('status' in o ? o.body : o)}`);
  assert.equal(await counter(tlsRejectionsTotal, 'revoked'), before + 1, 'counted as revoked');
});

test('resumed session after revocation is refused (and resumption works before it)', async (t) => {
  const r = await start(t, standard());
  const agent = clientAgent(t, lab.clients.good, { keepAlive: false, maxCachedSessions: 10 });
  const a = await get(r.port, null, agent);
  assert.ok('body' in a && a.body === 'ok client-good');
  const b = await get(r.port, null, agent);
  assert.ok('body' in b && b.body === 'ok client-good reused', 'the baseline resumes the session');
  const reload = r.next();
  r.put(`${lab.inter.hash}.r1`, lab.crl(lab.inter, { revoke: ['good'] }));
  await reload;
  const c = await get(r.port, null, agent);
  assert.ok(!accepted(c), 'the revoked client cannot come back through its session');
});

test('a new CA with its CRL is accepted; removing the CA refuses new and closes open connections', async (t) => {
  const r = await start(t, standard());
  await refused(r, lab.clients.ca2, 'unknown_ca');
  let reload = r.next();
  r.put(`${lab.ca2.hash}.0`, lab.ca2.certPem);
  r.put(`${lab.ca2.hash}.r0`, lab.crl(lab.ca2));
  await reload;
  if (r.listener.trust!.current().snapshot.crls.length < 3) await r.next(); // the two files may land in two reloads
  const agent = clientAgent(t, lab.clients.ca2, { keepAlive: true });
  const o = await get(r.port, null, agent);
  assert.ok('socket' in o && o.body === 'ok client-ca2');
  const closed = once(o.socket, 'close');
  reload = r.next();
  unlinkSync(path.join(r.dir, `${lab.ca2.hash}.0`));
  await reload;
  await closed;
  await refused(r, lab.clients.ca2, 'unknown_ca');
});

test('a broken file keeps what was in force and never widens access; a vanished directory keeps the last good snapshot', async (t) => {
  const files = standard();
  const r = await start(t, files);
  const digest = r.listener.trust!.current().snapshot.digest;
  writeFileSync(path.join(r.dir, `${lab.inter.hash}.r0`), files[`${lab.inter.hash}.r0`].slice(0, 300)); // half-written
  writeFileSync(path.join(r.dir, `${lab.ca2.hash}.0`), 'garbage');
  await r.listener.trust!.reload();
  assert.equal(r.listener.trust!.current().snapshot.digest, digest);
  assert.ok(r.listener.trust!.problems().some((p) => p.code === 'unparsable'));
  await refused(r, lab.clients.revoked, 'revoked');
  assert.ok(accepted(await get(r.port, lab.clients.good)));

  renameSync(r.dir, `${r.dir}-gone`);
  await r.listener.trust!.reload();
  const h = r.listener.health();
  assert.equal(h.healthy, false);
  assert.match(h.reasons.join('\n'), /reload failed: trust directory .* does not exist/);
  assert.ok(accepted(await get(r.port, lab.clients.good)), 'the last good snapshot stays in force');
  renameSync(`${r.dir}-gone`, r.dir);
  await r.listener.trust!.reload();
  const broken = r.listener.health();
  assert.equal(broken.healthy, false, 'the broken files are still there');
  assert.doesNotMatch(broken.reasons.join('\n'), /reload failed/);
  assert.match(broken.reasons.join('\n'), /unparsable: .*\.r0 .*previous content stays in force/);
  r.put(`${lab.inter.hash}.r0`, files[`${lab.inter.hash}.r0`]);
  unlinkSync(path.join(r.dir, `${lab.ca2.hash}.0`));
  await r.listener.trust!.reload();
  assert.deepEqual(r.listener.health().reasons, []);
});

test("the seed's workflow: hash.0 + hash.r0, then a new CRL as hash.r1", async (t) => {
  const hash = lab.openssl(['x509', '-in', lab.ca2.certFile, '-subject_hash', '-noout']).trim();
  const crl0 = path.join(base, 'seed-r0.crl');
  writeFileSync(crl0, lab.crl(lab.ca2));
  const crlHash = lab.openssl(['crl', '-in', crl0, '-hash', '-noout']).trim();
  assert.equal(crlHash, hash);
  const r = await start(t, {});
  let reload = r.next();
  copyFileSync(lab.ca2.certFile, path.join(r.dir, `${hash}.0`));
  copyFileSync(crl0, path.join(r.dir, `${crlHash}.r0`));
  await reload;
  if (r.listener.trust!.current().snapshot.crls.length < 1) await r.next();
  assert.ok(accepted(await get(r.port, lab.clients.ca2)));
  reload = r.next();
  const crl1 = path.join(base, 'seed-r1.crl');
  writeFileSync(crl1, lab.crl(lab.ca2, { revoke: ['ca2'] }));
  copyFileSync(crl1, path.join(r.dir, `${crlHash}.r1`));
  await reload;
  await refused(r, lab.clients.ca2, 'revoked');
});

test('a CRL reaching nextUpdate: live connection closed at the timer, new ones refused', async (t) => {
  const files = standard();
  // the live connection must be made before nextUpdate: signing this CRL (openssl), starting the listener
  // and one handshake took over 2.5 s, and once over 6 s, on a loaded 2-core machine; so 15 s from now
  files[`${lab.inter.hash}.r0`] = lab.crl(lab.inter, { nextUpdate: new Date(Date.now() + 15_000) });
  const r = await start(t, files);
  assert.equal(r.listener.health().healthy, false, 'expiring within the warning window is reported');
  const agent = clientAgent(t, lab.clients.good, { keepAlive: true });
  const o = await get(r.port, null, agent);
  assert.ok('socket' in o && o.status === 200);
  const closed = once(o.socket, 'close');
  await r.next('tick');
  await closed;
  await refused(r, lab.clients.good, 'crl_expired');
});

test('fail closed: no CRL at all refuses everyone; missing directory is a clear error', async (t) => {
  const r = await start(t, {
    [`${lab.root.hash}.0`]: lab.root.certPem,
    [`${lab.inter.hash}.0`]: lab.inter.certPem,
  });
  assert.ok(!accepted(await get(r.port, lab.clients.good)));
  const noCrl = await start(
    t,
    { [`${lab.root.hash}.0`]: lab.root.certPem, [`${lab.inter.hash}.0`]: lab.inter.certPem },
    false,
  );
  assert.ok(
    accepted(await get(noCrl.port, lab.clients.revoked)),
    'crlEnabled: false does not look at revocation',
  );
  await assert.rejects(
    createSecureListener(
      {
        certificate: lab.server.certFile,
        key: lab.server.keyFile,
        clientAuth: {
          directory: path.join(base, 'missing'),
          crlEnabled: true,
          pollIntervalMs: 1000,
          crlExpiryWarningMs: 1,
        },
      },
      () => {},
    ),
    /client certificate directory .*missing does not exist/,
  );
});

/** r0: an older CRL without revocations; r1: the newer one revoking `revoked`. */
function withNewerRevokingCrl(): Record<string, string> {
  const files = standard();
  files[`${lab.inter.hash}.r0`] = lab.crl(lab.inter);
  files[`${lab.inter.hash}.r1`] = lab.crl(lab.inter, { revoke: ['revoked'] });
  return files;
}

async function problemGauge(code: string): Promise<number> {
  return (await trustProblems.get()).values.find((v) => v.labels.code === code)?.value ?? 0;
}

for (const [what, damage] of [
  ['one flipped bit in its signature', () => lab.badSignature(lab.crl(lab.inter))],
  ['a CRL of a look-alike CA with the same name', () => lab.crl(lab.lookAlike)],
] as const) {
  test(`a CRL rewritten in place with ${what} keeps its revocation in force`, async (t) => {
    const r = await start(t, withNewerRevokingCrl());
    await refused(r, lab.clients.revoked, 'revoked');
    writeFileSync(path.join(r.dir, `${lab.inter.hash}.r1`), damage()); // in place, as the red team did
    await r.listener.trust!.reload();
    await refused(r, lab.clients.revoked, 'revoked');
    assert.ok(accepted(await get(r.port, lab.clients.good)), 'the CA stays usable with the kept CRL');
    const h = r.listener.health();
    assert.equal(h.healthy, false);
    assert.match(h.reasons.join('\n'), /crl_kept: .*\.r1: its new content is rejected/);
    assert.equal(await problemGauge('crl_kept'), 1);
  });
}

test('a newer CRL that vanishes refuses its CA (no rollback to the older one) until it is back', async (t) => {
  const files = withNewerRevokingCrl();
  const r = await start(t, files);
  let reload = r.next();
  unlinkSync(path.join(r.dir, `${lab.inter.hash}.r1`));
  await reload;
  await refused(r, lab.clients.revoked, 'crl_rollback');
  await refused(r, lab.clients.good, 'crl_rollback');
  assert.ok(accepted(await get(r.port, lab.clients.rootIssued)), 'other CAs are not affected');
  assert.match(r.listener.health().reasons.join('\n'), /crl_rollback: .*older .* than one already in force/);
  reload = r.next();
  r.put(`${lab.inter.hash}.r1`, files[`${lab.inter.hash}.r1`]);
  await reload;
  assert.ok(accepted(await get(r.port, lab.clients.good)));
  await refused(r, lab.clients.revoked, 'revoked');
  assert.equal(r.listener.health().healthy, true);
});

/** One HTTP request over `openssl s_client` (TLS 1.3, no client certificate), saving or resuming a session. */
function opensslRequest(port: number, session: string, resume: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      [
        's_client',
        '-tls1_3',
        '-connect',
        `127.0.0.1:${port}`,
        resume ? '-sess_in' : '-sess_out',
        session,
        '-quiet',
        '-ign_eof',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill(), 10_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
}

test('a resumed TLS 1.3 session without a client certificate is refused, not a crash (red-team finding)', async (t) => {
  const r = await start(t, standard());
  const session = path.join(r.dir, '.session.pem');
  const first = await opensslRequest(r.port, session, false);
  assert.match(first, /^HTTP\/1\.1 401/);
  assert.match(first, /"error":"certificate_required"/);
  const before = await counter(tlsRejectionsTotal, 'no_certificate');
  const resumed = await opensslRequest(r.port, session, true);
  assert.match(resumed, /^HTTP\/1\.1 401/);
  assert.match(resumed, /"error":"certificate_required"/);
  assert.equal(await counter(tlsRejectionsTotal, 'no_certificate'), before + 1);
  assert.ok(accepted(await get(r.port, lab.clients.good)), 'the server is still serving');
});
