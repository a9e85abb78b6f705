// The attacks of the hostile-client suite, each against a fresh server (./harness.ts) and each bounded in
// count and time. `scale` shrinks them for `npm test` (test/stress/stress.test.ts); 1 is the full suite.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import {
  ATTACKER_USER,
  VICTIM_USER,
  connectVictim,
  cpuSecondsOf,
  postHead,
  rssOf,
  scrapeMetrics,
  startGauges,
  startGateway,
  startProbe,
  tlsRequest,
  MEDIA,
  type GatewayOptions,
  type Lab,
  type Revocation,
  type ServerUnderTest,
} from './harness.js';
import { tlsConnectRaw } from './raw-tls.js';

export interface AttackReport {
  attack: string;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
  eventLoopMaxMs: number;
  probe: { ok: number; total: number; worstMs: number };
  revocationMs: number | null;
  revocationWithin1s: boolean;
  /** where the revocation's time went: the server's event loop on a CPU / waiting for one; load average */
  revocation: Omit<Revocation, 'ms'> | null;
  details: Record<string, unknown>;
}

const MiB = 1024 * 1024;
const mib = (b: number) => Math.round((b / MiB) * 10) / 10;

/** Source addresses of an attacker that rotates over `n` loopback addresses. */
const attackerAddress = (i: number, n: number) =>
  `127.0.${10 + Math.floor((i % n) / 250)}.${1 + ((i % n) % 250)}`;

/** Runs `attack` with the gauges, the probe and a revocation published half-way through. */
async function measured(
  lab: Lab,
  name: string,
  attack: (server: ServerUnderTest, halfway: () => void) => Promise<Record<string, unknown>>,
  limits: Record<string, unknown> = {},
  settle?: (server: ServerUnderTest, details: Record<string, unknown>, rssBefore: number) => Promise<void>,
  gateway: GatewayOptions = {},
): Promise<AttackReport> {
  const server = await startGateway(lab, limits, gateway);
  try {
    const victim = await connectVictim(server, lab, `victim-${name}`);
    await sleep(500);
    const rssBefore = rssOf(server.pid);
    const gauges = startGauges(server);
    const probe = startProbe(server, lab);
    let revoking: Promise<Revocation | undefined> | undefined;
    const details = await attack(server, () => (revoking ??= victim.revoke()));
    const revoked = await (revoking ?? victim.revoke());
    const revocationMs = revoked?.ms ?? null;
    const g = await gauges.stop();
    const p = await probe.stop();
    if (settle) await settle(server, details, rssBefore);
    return {
      attack: name,
      rssBeforeMiB: mib(rssBefore),
      rssPeakMiB: mib(g.peakRss),
      rssAfterMiB: mib(rssOf(server.pid)),
      eventLoopMaxMs: g.loopMaxMs,
      probe: p,
      revocationMs,
      revocationWithin1s: revocationMs !== null && revocationMs <= 1000,
      revocation: revoked
        ? {
            mainThreadRunMs: revoked.mainThreadRunMs,
            mainThreadWaitMs: revoked.mainThreadWaitMs,
            loadAverage: revoked.loadAverage,
          }
        : null,
      details,
    };
  } finally {
    await server.stop();
  }
}

/**
 * Sends `head` and then `body` in 64 KiB chunks (waiting for the socket to drain) until the server
 * answers or the body is sent; the figures say how much of the body the server needed to see.
 */
async function uploadUntilAnswered(
  socket: net.Socket,
  head: string,
  body: Buffer,
): Promise<{ status?: number; itemStatus?: number; sentMiB: number; msToAnswer: number }> {
  let text = '';
  let answered: (() => void) | undefined;
  const answer = new Promise<void>((r) => (answered = r));
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    if (/^HTTP\/1\.1 \d{3}/.test(text)) answered!();
  });
  socket.once('close', () => answered!());
  const started = performance.now();
  socket.write(head);
  let sent = 0;
  let done = false;
  void answer.then(() => (done = true));
  while (!done && sent < body.length) {
    const chunk = body.subarray(sent, sent + 64 * 1024);
    sent += chunk.length;
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain').catch(() => undefined), answer]);
  }
  await answer;
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  // a batch is answered 200 with the status of the item that ended it: wait for that JSON (bounded)
  if (m?.[1] === '200' && !socket.destroyed) {
    const item = new Promise<void>((r) => {
      const check = () => /\r\n\r\n\{.*\}/s.test(text) && r();
      socket.on('data', check);
      socket.once('close', () => r());
      check();
    });
    await Promise.race([item, sleep(5000)]);
  }
  const itemStatus = /"status":(\d+)/.exec(text);
  return {
    status: m ? Number(m[1]) : undefined,
    ...(itemStatus ? { itemStatus: Number(itemStatus[1]) } : {}),
    sentMiB: mib(sent),
    msToAnswer: Math.round(performance.now() - started),
  };
}

/** The head of field 1, length-delimited (`0a`), with a 4-byte length varint (lengths 2 MiB to 256 MiB). */
function fieldOneHead(length: number): Buffer {
  const varint = [length & 0x7f, (length >> 7) & 0x7f, (length >> 14) & 0x7f, length >> 21];
  return Buffer.from([0x0a, varint[0] | 0x80, varint[1] | 0x80, varint[2] | 0x80, varint[3]]);
}

/** `pattern` repeated, wrapped in one field 1 (a Media's message or a batch's item): `size` bytes or one less. */
function nestedBody(pattern: string, size: number): Buffer {
  const inner = (size - 5) & ~1; // whole 2-byte patterns
  return Buffer.concat([fieldOneHead(inner), Buffer.alloc(inner, Buffer.from(pattern, 'hex'))]);
}

/**
 * 64 MiB bodies of empty fields: `1a 00` repeated to `POST /` and `0a 00` repeated to `POST /batch`,
 * then the same fields one level down, inside one field that spans the body: a Media whose message is
 * `12 00` (empty routing labels) repeated, and a batch whose one item is `1a 00` repeated (answered 200
 * with that item's 413). All are refused while they arrive.
 */
export function bodyAmplification(lab: Lab, scale: number): Promise<AttackReport> {
  const size = Math.max(1, Math.round(64 * scale)) * MiB;
  return measured(lab, 'body-amplification', async (server, halfway) => {
    // one good request first, so the attacker's Argon2 verification is not part of the figures
    await tlsRequest(server.port, lab.attacker, lab.caPem, postHead(ATTACKER_USER, MEDIA.length), MEDIA);
    const results = [];
    for (const [route, shape, body] of [
      ['/', '1a00', () => Buffer.alloc(size, Buffer.from('1a00', 'hex'))],
      ['/batch', '0a00', () => Buffer.alloc(size, Buffer.from('0a00', 'hex'))],
      ['/', '1a00', () => Buffer.alloc(size, Buffer.from('1a00', 'hex'))],
      ['/', 'message of 1200', () => nestedBody('1200', size)],
      ['/batch', 'item of 1a00', () => nestedBody('1a00', size)],
    ] as const) {
      const bytes = body();
      const rssBefore = rssOf(server.pid);
      const socket = await tlsConnectRaw(server.port, lab, '127.0.4.4');
      if (!socket) throw new Error('the attacker could not connect');
      const r = await uploadUntilAnswered(socket, postHead(ATTACKER_USER, bytes.length, route), bytes);
      socket.destroy();
      const rssGrowthMiB = mib(rssOf(server.pid) - rssBefore);
      results.push({ route, shape, bodyMiB: mib(bytes.length), ...r, rssGrowthMiB });
      halfway();
    }
    return { requests: results };
  });
}

/** The server's V8 heap and external memory, from its metrics. */
function heapFigures(m: Map<string, number>) {
  if (!m.has('nodejs_heap_size_used_bytes')) throw new Error('the server reports no nodejs_* metrics');
  return {
    heapUsedMiB: mib(m.get('nodejs_heap_size_used_bytes') ?? 0),
    heapTotalMiB: mib(m.get('nodejs_heap_size_total_bytes') ?? 0),
    externalMiB: mib(m.get('nodejs_external_memory_bytes') ?? 0),
  };
}

/** Half-open TLS handshakes (a ClientHello's first bytes, then silence) from rotating addresses. */
export function flood(lab: Lab, scale: number): Promise<AttackReport> {
  const attempts = Math.round(20_000 * scale);
  const settleMs = Math.round(60_000 * Math.min(1, scale * 4));
  return measured(
    lab,
    'flood',
    async (server, halfway) => {
      const beforeFlood = heapFigures(await scrapeMetrics(server.metricsPort));
      const held: net.Socket[] = [];
      let accepted = 0;
      let refused = 0;
      const started = performance.now();
      const one = (i: number) =>
        new Promise<void>((resolve) => {
          const s = net.connect({
            port: server.port,
            host: '127.0.0.1',
            localAddress: attackerAddress(i, 500),
          });
          s.on('error', () => undefined);
          s.once('connect', () => {
            s.write(Buffer.from('16030100', 'hex'));
            held.push(s);
            accepted++;
            resolve();
          });
          s.once('close', () => {
            refused++;
            resolve();
          });
        });
      for (let i = 0; i < attempts; i += 500) {
        await Promise.all(Array.from({ length: Math.min(500, attempts - i) }, (_, k) => one(i + k)));
        if (i >= attempts / 2) halfway();
      }
      halfway();
      const stillOpen = held.filter((s) => !s.destroyed).length;
      const metrics = await scrapeMetrics(server.metricsPort);
      await sleep(1000);
      for (const s of held) s.destroy();
      return {
        beforeFlood,
        attempts,
        connected: accepted,
        closedByServer: refused,
        stillHeldAtEnd: stillOpen,
        openOnServer: metrics.get('media_gateway_open_connections'),
        connectionLimit: metrics.get('media_gateway_connection_limit'),
        seconds: Math.round((performance.now() - started) / 100) / 10,
      };
    },
    {},
    async (server, details, before) => {
      // memory return: RSS sampled every second for settleMs (the 60 s at full scale), so the
      // report shows both when it came within 100 MiB of the level before and where it settled
      const ended = performance.now();
      const trace: number[] = [];
      let secondsToReturn: number | null = null;
      for (;;) {
        const rss = rssOf(server.pid);
        trace.push(mib(rss));
        if (secondsToReturn === null && rss - before <= 100 * MiB)
          secondsToReturn = Math.round((performance.now() - ended) / 1000);
        if (performance.now() - ended > settleMs) break;
        await sleep(1000);
      }
      details.rssTraceAfterFloodMiB = trace;
      details.afterFlood = heapFigures(await scrapeMetrics(server.metricsPort));
      details.secondsToReturn = secondsToReturn;
    },
  ).then((r) => {
    r.details.rssReturnedWithin100MiB = r.rssAfterMiB - r.rssBeforeMiB <= 100;
    return r;
  });
}

/** Header drips and slow bodies, each from its own address, held as long as the server lets them. */
export function slowClients(lab: Lab, scale: number): Promise<AttackReport> {
  const count = Math.round(400 * scale);
  const seconds = Math.max(8, Math.round(25 * scale));
  return measured(
    lab,
    'slow-client',
    async (server, halfway) => {
      const sockets: { s: net.Socket; kind: string; closedAt?: number }[] = [];
      for (let i = 0; i < count; i++) {
        const kind = i % 2 ? 'body-drip' : 'header-drip';
        const s = await tlsConnectRaw(server.port, lab, attackerAddress(i, 250));
        if (!s) continue;
        // how long the server let this connection live (from its handshake to the server's close)
        const openedAt = performance.now();
        const entry = { s, kind, closedAt: undefined as number | undefined };
        s.once('close', () => (entry.closedAt = performance.now() - openedAt));
        if (kind === 'body-drip')
          s.write(postHead(ATTACKER_USER, 1_000_000).replace('Connection: close\r\n', ''));
        else s.write('POST / HTTP/1.1\r\n');
        sockets.push(entry);
      }
      const drip = setInterval(() => {
        for (const e of sockets) if (!e.s.destroyed) e.s.write(e.kind === 'body-drip' ? 'x' : 'X');
      }, 2000);
      for (let t = 0; t < seconds; t++) {
        await sleep(1000);
        if (t === Math.floor(seconds / 2)) halfway();
      }
      clearInterval(drip);
      const closed = (kind: string) => sockets.filter((e) => e.kind === kind && e.closedAt !== undefined);
      const longest = (kind: string) =>
        Math.round(Math.max(0, ...closed(kind).map((e) => e.closedAt!)) / 100) / 10;
      const summary = {
        connections: sockets.length,
        seconds,
        headerDripsCut: closed('header-drip').length,
        headerDripLongestHeldS: longest('header-drip'),
        bodyDripsCut: closed('body-drip').length,
        bodyDripLongestHeldS: longest('body-drip'),
      };
      for (const e of sockets) e.s.destroy();
      return summary;
    },
    slowLimits(scale),
  );
}

/** Full scale: the defaults. Smaller runs shorten the whole-request timeout so that it is seen acting. */
function slowLimits(scale: number): Record<string, unknown> {
  if (scale >= 1) return {};
  const secs = Math.max(3, Math.round(20 * scale));
  return { request_timeout: { secs, nanos: 0 }, header_timeout: { secs: Math.min(10, secs), nanos: 0 } };
}

/**
 * Uploads that declare 64 MiB and send 4 KiB, held open: half to `POST /`, half to `POST /batch` whose one
 * item's length prefix also declares (almost) 64 MiB (the batch path splits items as they arrive).
 */
export function declaredLength(lab: Lab, scale: number): Promise<AttackReport> {
  const count = Math.max(10, Math.round(200 * scale));
  const item = fieldOneHead(64 * MiB - 5).toString('latin1');
  return measured(lab, 'declared-length', async (server, halfway) => {
    const vmBefore = vmSizeOf(server.pid);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const s = await tlsConnectRaw(server.port, lab, attackerAddress(i, 50));
      if (!s) continue;
      if (i % 2) s.write(postHead(ATTACKER_USER, 64 * MiB, '/batch') + item + 'x'.repeat(4091));
      else s.write(postHead(ATTACKER_USER, 64 * MiB) + 'x'.repeat(4096));
      sockets.push(s);
    }
    await sleep(2000);
    halfway();
    const m = await scrapeMetrics(server.metricsPort);
    const details = {
      connections: sockets.length,
      vmSizeGrowthMiB: mib(vmSizeOf(server.pid) - vmBefore),
      externalMemoryMiB: mib(m.get('nodejs_external_memory_bytes') ?? 0),
    };
    for (const s of sockets) s.destroy();
    return details;
  });
}

function vmSizeOf(pid: number): number {
  const m = /^VmSize:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Wrong passwords (each new, so no cached verdict) from rotating addresses, at `rate` per second. */
export function argon2Flood(lab: Lab, scale: number): Promise<AttackReport> {
  const seconds = Math.max(4, Math.round(20 * scale));
  const rate = 20;
  return measured(lab, 'argon2-flood', async (server, halfway) => {
    const cpuBefore = cpuSecondsOf(server.pid);
    const statuses: Record<string, number> = {};
    const pending: Promise<void>[] = [];
    const started = performance.now();
    for (let i = 0; i < seconds * rate; i++) {
      const who =
        i % 3 === 0
          ? { user: `ghost${i}`, password: 'x' }
          : { user: VICTIM_USER.user, password: `guess${i}` };
      pending.push(
        tlsRequest(
          server.port,
          lab.attacker,
          lab.caPem,
          postHead(who, 0),
          Buffer.alloc(0),
          10_000,
          attackerAddress(i, 1000),
        ).then((r) => {
          const k = String(r.status ?? r.error);
          statuses[k] = (statuses[k] ?? 0) + 1;
        }),
      );
      if (i === Math.floor((seconds * rate) / 2)) halfway();
      await sleep(Math.max(0, started + ((i + 1) * 1000) / rate - performance.now()));
    }
    await Promise.all(pending);
    const wall = (performance.now() - started) / 1000;
    return {
      requests: seconds * rate,
      perSecond: rate,
      statuses,
      serverCpuPercent: Math.round(((cpuSecondsOf(server.pid) - cpuBefore) / wall) * 100),
    };
  });
}

/**
 * Lock a user out from one address, then try to flush the lockout with unknown-user requests from the same
 * address, twice as many as the server caches (the reproduction: the lock used to live in that LRU). The
 * failed-login rate per address is raised so that every flushing request reaches the quarantine; with the
 * default rate most of them would be answered 429 before it, and the figure would show the rate limit
 * instead of the quarantine.
 */
export function quarantineBypass(lab: Lab, scale: number): Promise<AttackReport> {
  const flushes = Math.max(20, Math.round(100 * scale));
  const cacheSize = Math.floor(flushes / 2);
  return measured(
    lab,
    'quarantine-bypass',
    async (server, halfway) => {
      const from = '127.0.5.5';
      const ask = (u: { user: string; password: string }) =>
        tlsRequest(server.port, lab.attacker, lab.caPem, postHead(u, 0), Buffer.alloc(0), 10_000, from).then(
          (r) => r.status ?? r.error,
        );
      const guesses = [];
      for (let i = 0; i < 3; i++) guesses.push(await ask({ user: VICTIM_USER.user, password: `wrong${i}` }));
      const flushStatuses: Record<string, number> = {};
      for (let i = 0; i < flushes; i++) {
        const k = String(await ask({ user: `nobody${i}`, password: 'x' }));
        flushStatuses[k] = (flushStatuses[k] ?? 0) + 1;
        if (i === Math.floor(flushes / 2)) halfway();
      }
      const finalStatus = await ask(VICTIM_USER);
      return {
        guesses,
        cacheSize,
        flushRequests: flushes,
        flushStatuses,
        correctPasswordAfterwards: finalStatus,
        bypassed: finalStatus === 200,
      };
    },
    { auth_failures_per_address: 100_000 },
    undefined,
    { cacheSize },
  );
}

/** Median and 90th percentile of a list of durations, rounded to 0.1 ms. */
function percentiles(ms: number[]): { median: number; p90: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10;
  return { median: at(0.5), p90: at(0.9) };
}

/**
 * User enumeration by timing, against users whose hashes have other parameters than the ones
 * `media-gateway users` writes (the original's 12 KiB samples): unknown users and wrong passwords for a
 * real user, alternating, each from its own address (so neither the failure rate nor the quarantine
 * answers early), timed by the attacker from the first byte of the request to the answer.
 */
export function enumeration(lab: Lab, scale: number): Promise<AttackReport> {
  const pairs = Math.max(10, Math.round(40 * scale));
  return measured(
    lab,
    'enumeration',
    async (server, halfway) => {
      const times: Record<'unknownUser' | 'wrongPassword', number[]> = { unknownUser: [], wrongPassword: [] };
      const statuses: Record<string, number> = {};
      for (let i = 0; i < pairs * 2; i++) {
        const kind = i % 2 ? 'unknownUser' : 'wrongPassword';
        const who =
          kind === 'unknownUser'
            ? { user: `nobody${i}`, password: `guess${i}` }
            : { user: VICTIM_USER.user, password: `guess${i}` };
        const r = await timedRequest(server.port, lab, postHead(who, 0), attackerAddress(i, 1000));
        statuses[String(r.status ?? r.error)] = (statuses[String(r.status ?? r.error)] ?? 0) + 1;
        times[kind].push(r.ms);
        if (i === pairs) halfway();
      }
      const unknown = percentiles(times.unknownUser);
      const wrong = percentiles(times.wrongPassword);
      return {
        pairs,
        storedHashes: 'argon2i m=12 KiB t=3 p=1',
        statuses,
        unknownUserMs: unknown,
        wrongPasswordMs: wrong,
        medianRatio: Math.round((unknown.median / wrong.median) * 100) / 100,
      };
    },
    {},
    undefined,
    { usersPath: '/legacy-users' },
  );
}

/** One request on an established mTLS connection, timed from its first byte to the status line. */
async function timedRequest(
  port: number,
  lab: Lab,
  head: string,
  localAddress: string,
): Promise<{ status?: number; error?: string; ms: number }> {
  const socket = await tlsConnectRaw(port, lab, localAddress);
  if (!socket) return { error: 'no connection', ms: 0 };
  return new Promise((resolve) => {
    let text = '';
    const started = performance.now();
    const done = (r: { status?: number; error?: string }) => {
      socket.destroy();
      resolve({ ...r, ms: performance.now() - started });
    };
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) done({ status: Number(m[1]) });
    });
    socket.once('close', () => done({ error: 'closed' }));
    socket.write(head);
  });
}

/**
 * What the server answers first, and how long it holds the connection: `Expect: 100-continue` with a wrong
 * password or a body over max_body_size (the 100 must not come before the refusal), and request lines that
 * are not HTTP/1.x (closed at once, nothing served).
 */
export function protocol(lab: Lab, scale: number): Promise<AttackReport> {
  const rounds = Math.max(2, Math.round(20 * scale));
  const wrong = { user: ATTACKER_USER.user, password: 'not-the-password' };
  const expect = (head: string) => head.replace('\r\n\r\n', '\r\nExpect: 100-continue\r\n\r\n');
  const cases: [string, string][] = [
    ['expect-100 wrong password', expect(postHead(wrong, MEDIA.length))],
    ['expect-100 over max_body_size', expect(postHead(ATTACKER_USER, 65 * MiB))],
    ['HTTP/0.9 request line', 'GET /\r\n'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ];
  return measured(lab, 'protocol', async (server, halfway) => {
    const results: Record<string, { firstLines: Record<string, number>; worstMsToClose: number }> = {};
    let connection = 0;
    for (let i = 0; i < rounds; i++) {
      for (const [name, head] of cases) {
        // each from its own address, so the failed-login rate does not answer for the check
        const s = await tlsConnectRaw(server.port, lab, attackerAddress(connection++, 250));
        if (!s) continue;
        let text = '';
        s.on('data', (c: Buffer) => (text += c.toString('latin1')));
        const started = performance.now();
        s.write(head);
        await Promise.race([once(s, 'close'), sleep(15_000)]);
        const ms = Math.round(performance.now() - started);
        s.destroy();
        const first = /^(HTTP\/1\.1 \d{3})/.exec(text)?.[1] ?? 'closed without an answer';
        const r = (results[name] ??= { firstLines: {}, worstMsToClose: 0 });
        r.firstLines[first] = (r.firstLines[first] ?? 0) + 1;
        r.worstMsToClose = Math.max(r.worstMsToClose, ms);
      }
      if (i === Math.floor(rounds / 2)) halfway();
    }
    return results;
  });
}
