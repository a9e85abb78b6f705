// Red-team attacks on the upgraded stream (GET /stream) against a real server child process
// (test/stress/harness.ts: bin/media-gateway, mTLS + Basic with real etcd). Loopback only, bounded.
// usage: node --import tsx scripts/red-stream.ts <attack> [n]
import tls from 'node:tls';
import net from 'node:net';
import { once } from 'node:events';
import {
  makeLab,
  startGateway,
  rssOf,
  cpuSecondsOf,
  scrapeMetrics,
  basicHeader,
  ATTACKER_USER,
  MEDIA,
  type Lab,
  type ServerUnderTest,
  type Identity,
} from '../test/stress/harness.js';
import { frameHeader, FRAME, STREAM_PROTOCOL } from '../src/contract/stream.js';
import { encodeMediaBatch } from '../src/savant/media.js';
import { revokeCertificate, generateCrl, issueCertificate } from '../src/pki/index.js';
import { readFileSync } from 'node:fs';

const closedP = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(server: ServerUnderTest, lab: Lab, who: Identity | undefined, localAddress?: string) {
  const socket = tls.connect({
    socket: net.connect({ port: server.port, host: '127.0.0.1', localAddress }).on('error', () => undefined),
    servername: 'localhost',
    ca: lab.caPem,
    ...(who ? { cert: who.cert, key: who.key } : {}),
  });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  return socket;
}

function upgradeHead(user = ATTACKER_USER, extra: string[] = []): string {
  return (
    [
      'GET /stream HTTP/1.1',
      'Host: localhost',
      'Connection: Upgrade',
      `Upgrade: ${STREAM_PROTOCOL}`,
      `Authorization: ${basicHeader(user)}`,
      ...extra,
    ].join('\r\n') + '\r\n\r\n'
  );
}

/** Upgrades; resolves with the status and a reader of what came after the head. */
async function upgrade(socket: tls.TLSSocket, head = upgradeHead()) {
  let bytes = Buffer.alloc(0);
  const onData = (c: Buffer) => (bytes = Buffer.concat([bytes, c]));
  socket.on('data', onData);
  socket.write(head);
  const t0 = Date.now();
  while (bytes.indexOf('\r\n\r\n') < 0 && Date.now() - t0 < 10_000 && !socket.destroyed) await sleep(5);
  const end = bytes.indexOf('\r\n\r\n');
  const text = bytes.subarray(0, Math.max(end, 0)).toString();
  socket.off('data', onData);
  return { status: Number(text.split(' ')[1]), text, after: bytes.subarray(end + 4) };
}

function batchFrame(items: Uint8Array[] = [], meta?: Record<string, string>): Buffer {
  const body = items.length ? Buffer.from(encodeMediaBatch(items)) : Buffer.alloc(0);
  const m = meta ? Buffer.from(JSON.stringify(meta)) : Buffer.alloc(0);
  return Buffer.concat([frameHeader(FRAME.batch, m.length, body.length), m, body]);
}

async function ext(server: ServerUnderTest): Promise<number> {
  const m = await scrapeMetrics(server.metricsPort);
  return m.get('nodejs_external_memory_bytes') ?? -1;
}

async function report(server: ServerUnderTest, label: string, t0: { rss: number; cpu: number; ext: number }) {
  const rss = rssOf(server.pid);
  const cpu = cpuSecondsOf(server.pid);
  const e = await ext(server).catch(() => -1);
  console.log(
    JSON.stringify({
      label,
      rssMiB: +(rss / 2 ** 20).toFixed(1),
      rssDeltaMiB: +((rss - t0.rss) / 2 ** 20).toFixed(1),
      externalDeltaMiB: +((e - t0.ext) / 2 ** 20).toFixed(1),
      cpuS: +(cpu - t0.cpu).toFixed(2),
    }),
  );
}

async function baseline(server: ServerUnderTest) {
  return { rss: rssOf(server.pid), cpu: cpuSecondsOf(server.pid), ext: await ext(server) };
}

type Attack = (server: ServerUnderTest, lab: Lab, n: number) => Promise<void>;

const attacks: Record<string, Attack> = {
  /** a stream client that sends empty batches and never reads the acks */
  async noread(server, lab, n) {
    const t0 = await baseline(server);
    const s = await connect(server, lab, lab.attacker);
    const u = await upgrade(s);
    console.log('upgrade', u.status);
    s.pause();
    const frame = batchFrame();
    const chunk = Buffer.concat(Array.from({ length: 1000 }, () => frame));
    const t = Date.now();
    let i = 0;
    try {
      for (; i < n / 1000; i++) {
        if (s.destroyed) break;
        if (!s.write(chunk)) await once(s, 'drain');
        if (i % 200 === 0) await report(server, `noread sent ${i * 1000} frames`, t0);
      }
    } catch (e) {
      console.log(
        'cut by the server after',
        Date.now() - t,
        'ms,',
        i * 1000,
        'frames sent:',
        (e as Error).message,
      );
    }
    await sleep(3000);
    await report(server, `noread after ${n} frames (socket open)`, t0);
    const m = await scrapeMetrics(server.metricsPort);
    console.log('stream batches', m.get('media_gateway_stream_batches_total'));
    s.destroy();
    await sleep(2000);
    await report(server, 'noread after close', t0);
  },
  /** the same over POST /batch: pipelined requests, responses never read */
  async noreadpost(server, lab, n) {
    const t0 = await baseline(server);
    const s = await connect(server, lab, lab.attacker);
    s.pause();
    const req = Buffer.from(
      `POST /batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/protobuf\r\n` +
        `Authorization: ${basicHeader(ATTACKER_USER)}\r\nContent-Length: 0\r\n\r\n`,
    );
    const chunk = Buffer.concat(Array.from({ length: 100 }, () => req));
    let sent = 0;
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < n / 100 && Date.now() < deadline; i++) {
      const ok = s.write(chunk);
      sent += 100;
      if (!ok) {
        const r = await Promise.race([once(s, 'drain').then(() => 'drain'), sleep(5000).then(() => 'stuck')]);
        if (r === 'stuck') {
          console.log('client write blocked after', sent, 'requests (server stopped reading)');
          break;
        }
      }
      if (i % 200 === 0) await report(server, `noreadpost sent ${sent}`, t0);
    }
    await sleep(3000);
    await report(server, `noreadpost after ${sent}`, t0);
    s.destroy();
  },
  /** CPU per empty batch: stream vs pipelined POST /batch, both read */
  async cpu(server, lab, n) {
    for (let round = 0; round < 2; round++) {
      {
        const s = await connect(server, lab, lab.attacker);
        await upgrade(s);
        let got = 0;
        s.on('data', (c: Buffer) => (got += c.length));
        const frame = batchFrame([MEDIA]);
        const t0 = await baseline(server);
        const chunk = Buffer.concat(Array.from({ length: 100 }, () => frame));
        for (let i = 0; i < n / 100; i++) if (!s.write(chunk)) await once(s, 'drain');
        const reply = 9 + 2 + '{"accepted":1,"status":200}'.length;
        while (got < n * reply) await sleep(20);
        await report(server, `stream ${n} batches of 1 item`, t0);
        s.destroy();
      }
      {
        const s = await connect(server, lab, lab.attacker);
        let count = 0;
        s.on('data', (c: Buffer) => {
          count += c.toString('latin1').split('HTTP/1.1 200').length - 1;
        });
        const t0 = await baseline(server);
        const req = Buffer.concat([
          Buffer.from(
            `POST /batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/protobuf\r\n` +
              `Authorization: ${basicHeader(ATTACKER_USER)}\r\nContent-Length: ${encodeMediaBatch([MEDIA]).length}\r\n\r\n`,
          ),
          Buffer.from(encodeMediaBatch([MEDIA])),
        ]);
        for (let i = 0; i < n; i++) if (!s.write(req)) await once(s, 'drain');
        while (count < n && !s.destroyed) await sleep(20);
        await report(server, `POST ${n} batches of 1 item (${count} answered)`, t0);
        s.destroy();
      }
    }
  },
  /** 4 GiB declared body and meta */
  async huge(server, lab) {
    for (const [meta, body] of [
      [0, 0xffffffff],
      [0xffffffff, 0],
    ]) {
      const s = await connect(server, lab, lab.attacker);
      await upgrade(s);
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      s.write(frameHeader(FRAME.batch, meta, body));
      const t = Date.now();
      await Promise.race([closedP(s), sleep(5000)]);
      console.log(
        'declared',
        meta,
        body,
        '->',
        Buffer.concat(got).toString('hex'),
        'closed in',
        Date.now() - t,
        'ms',
      );
    }
  },
  /** frame header dripped one byte per second; and an idle stream */
  async drip(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    await upgrade(s);
    const t = Date.now();
    const h = frameHeader(FRAME.batch, 0, 10);
    const closed = closedP(s).then(() => Date.now() - t);
    let i = 0;
    const timer = setInterval(() => {
      if (i < h.length) s.write(h.subarray(i, ++i));
    }, 1000);
    console.log(
      'drip header cut after ms',
      await Promise.race([closed, sleep(40_000).then(() => 'not cut')]),
    );
    clearInterval(timer);
    s.destroy();
  },
  async idle(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    await upgrade(s);
    const t = Date.now();
    const closed = closedP(s).then(() => Date.now() - t);
    console.log('idle cut after ms', await Promise.race([closed, sleep(90_000).then(() => 'not cut')]));
    s.destroy();
  },
  /** many streams from one address */
  async many(server, lab, n) {
    const t0 = await baseline(server);
    const res: Record<string, number> = {};
    const socks: tls.TLSSocket[] = [];
    for (let i = 0; i < n; i++) {
      try {
        const s = await connect(server, lab, lab.attacker);
        socks.push(s);
        const u = await upgrade(s);
        res[u.status] = (res[u.status] ?? 0) + 1;
      } catch (e) {
        res[(e as Error).message] = (res[(e as Error).message] ?? 0) + 1;
      }
    }
    console.log('many', n, res, 'open', socks.filter((s) => !s.destroyed).length);
    await report(server, `many ${n}`, t0);
    for (const s of socks) s.destroy();
  },
  /** a revocation published while a stream is idle / busy */
  async revoke(server, lab) {
    for (const busy of [false, true]) {
      const issued = await issueCertificate(lab.caDir, 'client', `victim-${busy}`, { cn: `victim-${busy}` });
      const id = {
        cert: readFileSync(issued.certPath, 'utf8'),
        key: readFileSync(issued.keyPath, 'utf8'),
        certPath: issued.certPath,
      };
      const s = await connect(server, lab, id, '127.0.0.3');
      const u = await upgrade(s);
      let acks = 0;
      s.on('data', () => acks++);
      let sending = busy;
      const frame = batchFrame([MEDIA]);
      const pump = (async () => {
        while (sending && !s.destroyed) {
          s.write(frame);
          await sleep(2);
        }
      })();
      await sleep(500);
      await revokeCertificate(lab.caDir, issued.certPath, 'keyCompromise');
      await generateCrl(lab.caDir, { publishTo: lab.hashDir });
      const t = performance.now();
      const acksAt = acks;
      const r = await Promise.race([
        closedP(s).then(() => performance.now() - t),
        sleep(20_000).then(() => 'not cut'),
      ]);
      sending = false;
      await pump;
      console.log(
        `revoke busy=${busy} upgrade=${u.status} cut after ms`,
        r,
        'acks before/after publish',
        acksAt,
        acks - acksAt,
      );
      s.destroy();
    }
  },
  /** quarantine: wrong passwords on upgrades, then the right one; and an open stream of the quarantined pair */
  async quarantine(server, lab) {
    const open = await connect(server, lab, lab.attacker, '127.0.0.9');
    console.log('open stream before', (await upgrade(open)).status);
    const wrong = { user: ATTACKER_USER.user, password: 'nope' };
    for (let i = 0; i < 4; i++) {
      const s = await connect(server, lab, lab.attacker, '127.0.0.9');
      const u = await upgrade(s, upgradeHead(wrong));
      console.log(
        'wrong',
        i,
        u.status,
        u.text.split('\r\n').filter((l) => /retry|www/i.test(l)),
      );
      s.destroy();
    }
    const s = await connect(server, lab, lab.attacker, '127.0.0.9');
    console.log('right password after quarantine', (await upgrade(s)).status);
    const other = await connect(server, lab, lab.attacker, '127.0.0.10');
    console.log('right password other address', (await upgrade(other)).status);
    let got = Buffer.alloc(0);
    open.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    open.write(batchFrame([MEDIA]));
    await Promise.race([closedP(open), sleep(5000)]);
    console.log('open stream batch after quarantine ->', got.toString('hex'), 'closed', open.destroyed);
  },
  /** an upgrade request with a body, one with a pipelined request, and frames sent during admission */
  async early(server, lab) {
    const cases: [string, (s: tls.TLSSocket) => Promise<void>][] = [
      ['body', async (s) => void s.write(upgradeHead(ATTACKER_USER, ['Content-Length: 9']) + 'AAAAAAAAA')],
      [
        'chunked',
        async (s) =>
          void s.write(
            upgradeHead(ATTACKER_USER, ['Transfer-Encoding: chunked']) + '9\r\nAAAAAAAAA\r\n0\r\n\r\n',
          ),
      ],
      [
        'pipelined POST',
        async (s) => void s.write(upgradeHead() + `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`),
      ],
      [
        'frame 1 ms later',
        async (s) => {
          s.write(upgradeHead());
          await sleep(1);
          s.write(batchFrame([MEDIA]));
        },
      ],
    ];
    for (const [label, send] of cases) {
      const s = await connect(server, lab, lab.attacker);
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString('latin1')));
      await send(s);
      await Promise.race([closedP(s), sleep(3000)]);
      console.log(label, '->', JSON.stringify(got.slice(0, 200)), 'closed', s.destroyed);
      s.destroy();
    }
  },
  /** a client that half-closes after its last frame: does it get the reply? */
  async halfclose(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    await upgrade(s);
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    s.end(Buffer.concat([batchFrame([MEDIA]), batchFrame([MEDIA])]));
    await Promise.race([closedP(s), sleep(5000)]);
    const m = await scrapeMetrics(server.metricsPort);
    console.log(
      'half-closed after 2 frames: reply bytes',
      got.length,
      got.toString('hex'),
      'batches read',
      m.get('media_gateway_stream_batches_total'),
    );
  },
  /** POST / with an Upgrade header (e.g. a client offering h2c): the original answered it as a POST */
  async postupgrade(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.write(
      `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/protobuf\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n` +
        `Authorization: ${basicHeader(ATTACKER_USER)}\r\nContent-Length: ${MEDIA.length}\r\n\r\n`,
    );
    s.write(MEDIA);
    await Promise.race([closedP(s), sleep(3000)]);
    console.log(
      'POST / with Upgrade: h2c ->',
      JSON.stringify(got.split('\r\n')[0]),
      JSON.stringify(got.slice(-60)),
    );
    s.destroy();
  },
  /** streams from many addresses: the global limit */
  async manyaddr(server, lab, n) {
    const t0 = await baseline(server);
    const res: Record<string, number> = {};
    const socks: tls.TLSSocket[] = [];
    for (let i = 0; i < n; i++) {
      const addr = `127.1.${Math.floor(i / 50)}.${(i % 50) + 1}`;
      try {
        const s = await connect(server, lab, lab.attacker, addr);
        socks.push(s);
        const u = await upgrade(s);
        res[u.status] = (res[u.status] ?? 0) + 1;
      } catch (e) {
        res[(e as Error).message.slice(0, 40)] = (res[(e as Error).message.slice(0, 40)] ?? 0) + 1;
      }
    }
    console.log('manyaddr', n, res, 'open', socks.filter((s) => !s.destroyed).length);
    await report(server, `manyaddr ${n}`, t0);
    // a legitimate POST while the streams hold the slots
    const probe = await connect(server, lab, lab.probe, '127.0.0.2').then(
      async (p) => {
        let got = '';
        p.on('data', (c: Buffer) => (got += c.toString('latin1')));
        p.write(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
        await Promise.race([closedP(p), sleep(3000)]);
        p.destroy();
        return got.split('\r\n')[0];
      },
      (e: Error) => e.message,
    );
    console.log('probe while full:', probe);
    for (const s of socks) s.destroy();
  },
  /** a legitimate stream, one batch every 5 s for 80 s: do Node's HTTP timeouts reach it? */
  async longlive(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    await upgrade(s);
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    const t = Date.now();
    let sent = 0;
    while (Date.now() - t < 80_000 && !s.destroyed) {
      s.write(batchFrame([MEDIA]));
      sent++;
      await sleep(5000);
    }
    console.log(
      'longlive: sent',
      sent,
      'reply bytes',
      got.length,
      'expected',
      sent * 38,
      'destroyed',
      s.destroyed,
      'after ms',
      Date.now() - t,
      'http in stream?',
      got.includes('HTTP/1.1'),
    );
    s.destroy();
  },
  /** the issue's amplification body over the stream: 16 MiB of empty items (0a 00), and 1025 real items */
  async amplify(server, lab) {
    for (const [label, body] of [
      ['16 MiB of 0a00', Buffer.alloc(16 * 2 ** 20, Buffer.from([0x0a, 0x00]))],
      ['1025 items', Buffer.from(encodeMediaBatch(Array.from({ length: 1025 }, () => MEDIA)))],
    ] as const) {
      const t0 = await baseline(server);
      const s = await connect(server, lab, lab.attacker);
      await upgrade(s);
      let got = Buffer.alloc(0);
      s.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
      const t = Date.now();
      s.write(Buffer.concat([frameHeader(FRAME.batch, 0, body.length), body]));
      await Promise.race([closedP(s), sleep(10_000)]);
      console.log(label, '->', got.subarray(0, 11).toString('hex'), 'in', Date.now() - t, 'ms');
      await report(server, label, t0);
      s.destroy();
    }
  },
  /** user enumeration over the upgrade: unknown user vs wrong password, median of 15, fresh addresses */
  async enumerate(server, lab) {
    const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const res: Record<string, number[]> = { unknown: [], wrong: [] };
    const statuses: Record<string, Set<string>> = { unknown: new Set(), wrong: new Set() };
    for (let i = 0; i < 15; i++) {
      for (const kind of ['unknown', 'wrong'] as const) {
        const user =
          kind === 'unknown'
            ? { user: `nobody${i}`, password: 'x' }
            : { user: ATTACKER_USER.user, password: `x${i}` };
        const s = await connect(server, lab, lab.attacker, `127.3.${i}.${kind === 'unknown' ? 1 : 2}`);
        const t = performance.now();
        const u = await upgrade(s, upgradeHead(user));
        res[kind].push(performance.now() - t);
        statuses[kind].add(u.text.replace(/Date: .*\r\n/, ''));
        s.destroy();
      }
    }
    console.log(
      'enumerate median ms: unknown',
      med(res.unknown).toFixed(1),
      'wrong',
      med(res.wrong).toFixed(1),
    );
    console.log('answers', [...statuses.unknown], [...statuses.wrong]);
  },
  /** SIGTERM while a stream leaves its replies unread: how long does the server take to exit? */
  async noreadterm(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    await upgrade(s);
    s.pause();
    const chunk = Buffer.concat(Array.from({ length: 1000 }, () => batchFrame()));
    let blocked = false;
    for (let i = 0; i < 2000 && !blocked; i++) {
      if (!s.write(chunk))
        blocked = await Promise.race([
          once(s, 'drain').then(
            () => false,
            () => true,
          ),
          sleep(3000).then(() => true),
        ]);
    }
    console.log('client writes blocked:', blocked);
    const t = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const { existsSync } = await import('node:fs');
    while (Date.now() - t < 90_000) {
      const st = existsSync(`/proc/${server.pid}/status`)
        ? readFileSync(`/proc/${server.pid}/status`, 'utf8')
        : '';
      if (!st || /State:\s+Z/.test(st)) break;
      await sleep(50);
    }
    console.log('server exited after SIGTERM in ms', Date.now() - t);
    s.destroy();
  },
  /** a POST pipelined before the upgrade request, in one write */
  async prepipe(server, lab) {
    const s = await connect(server, lab, lab.attacker);
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    const post =
      `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/protobuf\r\n` +
      `Authorization: ${basicHeader(ATTACKER_USER)}\r\nContent-Length: ${MEDIA.length}\r\n\r\n`;
    s.write(Buffer.concat([Buffer.from(post), MEDIA, Buffer.from(upgradeHead())]));
    await sleep(1500);
    s.write(batchFrame([MEDIA]));
    await Promise.race([closedP(s), sleep(3000)]);
    console.log('prepipe ->', JSON.stringify(got), 'closed', s.destroyed);
    const m = await scrapeMetrics(server.metricsPort);
    console.log('server alive, stream batches', m.get('media_gateway_stream_batches_total'));
    s.destroy();
  },
  /** one crafted item (32 MiB of empty data fields, 1a 00) in one batch: stream frame vs POST /batch */
  async crafteditem(server, lab) {
    const inner = Buffer.alloc(32 * 2 ** 20, Buffer.from([0x1a, 0x00]));
    const len: number[] = [];
    for (let v = inner.length; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        len.push(v);
        break;
      }
      len.push((v & 0x7f) | 0x80);
    }
    const body = Buffer.concat([Buffer.from([0x0a, ...len]), inner]);
    {
      const t0 = await baseline(server);
      const s = await connect(server, lab, lab.attacker);
      await upgrade(s);
      let got = Buffer.alloc(0);
      s.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
      const t = Date.now();
      s.write(Buffer.concat([frameHeader(FRAME.batch, 0, body.length), body]));
      while (got.length < 11 && !s.destroyed && Date.now() - t < 30_000) await sleep(10);
      console.log('stream crafted item ->', got.subarray(9).toString('latin1'), 'in', Date.now() - t, 'ms');
      await report(server, 'stream crafted item', t0);
      s.destroy();
    }
    {
      const t0 = await baseline(server);
      const s = await connect(server, lab, lab.attacker);
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString('latin1')));
      const t = Date.now();
      s.write(
        `POST /batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/protobuf\r\n` +
          `Authorization: ${basicHeader(ATTACKER_USER)}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      s.write(body);
      while (!got.includes('\r\n\r\n') && !s.destroyed && Date.now() - t < 30_000) await sleep(10);
      await sleep(50);
      console.log(
        'POST crafted item ->',
        JSON.stringify(got.split('\r\n')[0] + ' ' + got.slice(got.indexOf('\r\n\r\n') + 4)),
        'in',
        Date.now() - t,
        'ms',
      );
      await report(server, 'POST crafted item', t0);
      s.destroy();
    }
  },
};

const [name, nArg] = process.argv.slice(2);
const lab = await makeLab();
const server = await startGateway(lab);
try {
  await attacks[name](server, lab, Number(nArg ?? 100_000));
} finally {
  await server.stop();
  await lab.cleanup();
}
