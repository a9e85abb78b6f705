// The gateway server end to end: real HTTP on loopback in, real ZeroMQ sinks out (SavantReader on
// sub/rep/router, raw zeromq sockets for the faults a well-behaved reader cannot produce). Every row
// of the original server's status table (src/contract/http.ts), our 400 for content-less messages, the
// body limit, /health, /metrics, concurrency and the POST /batch extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { buildMessage } from '../../src/savant/message.js';
import { encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';
import { freePort } from '../helpers/net.js';
import {
  gateway,
  gatewayToRouter,
  nextMessage,
  post,
  request,
  serverConfig,
  sink,
  tcp,
  writerConfig,
  PROTOBUF,
} from './fixtures.js';

const enc = new TextEncoder();
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Spec 8.1 test vector: EOS for cam1, protocol 0.2.0, seq_id 1, one data frame 01.
const VECTOR_MESSAGE = hex('0a 05 30 2e 32 2e 30 20 01 4a 06 0a 04 63 61 6d 31');
const VECTOR_MEDIA = hex(
  '0a 11 0a 05 30 2e 32 2e 30 20 01 4a 06 0a 04 63 61 6d 31 12 04 63 61 6d 31 1a 01 01',
);

function frameMedia(topic: string, data: Uint8Array[] = [], labels: string[] = []): Uint8Array {
  return encodeMedia({
    message: buildMessage({ content: 'video_frame', sourceId: topic, routingLabels: labels }),
    topic: enc.encode(topic),
    data,
  });
}

test("dealer → router sink: the original's Media vector arrives byte-identical and the EOS ack gives 200", async (t) => {
  const { server, reader } = await gatewayToRouter(t);

  const got = nextMessage(reader);
  const res = await post(server.url + '/', VECTOR_MEDIA);
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 0);
  const m = await got;
  assert.deepEqual(Buffer.from(m.message), VECTOR_MESSAGE);
  assert.equal(Buffer.from(m.topic).toString(), 'cam1');
  assert.equal(m.info.content, 'end_of_stream');

  // a frame with extra data frames: forwarded unchanged, frames in order
  const data = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from('xyz')];
  const media = frameMedia('cam1', data);
  const got2 = nextMessage(reader);
  assert.equal((await post(server.url, media)).status, 200);
  const m2 = await got2;
  assert.deepEqual(
    m2.data.map((d) => Buffer.from(d)),
    data,
  );
  assert.equal(m2.info.content, 'video_frame');
});

test('req → rep sink: frames and EOS are acknowledged, 200', async (t) => {
  const ep = await tcp();
  const reader = await sink(t, `rep+bind:${ep}`);
  const server = await gateway(t, serverConfig(writerConfig(`req+connect:${ep}`)));

  const got = nextMessage(reader);
  assert.equal(
    (await post(server.url, frameMedia('cam2', [Buffer.from('a'), Buffer.from('b')]))).status,
    200,
  );
  const m = await got;
  assert.deepEqual(
    m.data.map((d) => Buffer.from(d).toString()),
    ['a', 'b'],
  );
  const gotEos = nextMessage(reader);
  assert.equal((await post(server.url, VECTOR_MEDIA)).status, 200);
  assert.equal((await gotEos).info.content, 'end_of_stream');
});

test('pub → sub sink: 200 and delivered once the subscription is in place', async (t) => {
  const ep = await tcp();
  const reader = await sink(t, `sub+bind:${ep}`);
  const server = await gateway(t, serverConfig(writerConfig(`pub+connect:${ep}`)));
  // PUB drops everything until the SUB's subscription has arrived: probe until one gets through.
  let received = false;
  const first = nextMessage(reader).then((m) => ((received = true), m));
  while (!received) {
    assert.equal((await post(server.url, frameMedia('probe'))).status, 200);
    await Promise.race([first, new Promise((r) => setTimeout(r, 20))]);
  }
  assert.equal(Buffer.from((await first).topic).toString(), 'probe');
});

test('504 when the dealer has no peer (send timeout)', async (t) => {
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:${await tcp()}`, { sendTimeoutMs: 100 })),
  );
  const res = await post(server.url, frameMedia('cam1'));
  assert.equal(res.status, 504);
  assert.equal(res.body.length, 0);
});

test('502 when a req peer takes the message and never answers (ack timeout)', async (t) => {
  const ep = await tcp();
  const silent = new zmq.Reply(); // raw socket: receives, never replies — a fault SavantReader will not produce
  t.after(() => silent.close());
  await silent.bind(ep);
  const server = await gateway(t, serverConfig(writerConfig(`req+connect:${ep}`, { receiveTimeoutMs: 100 })));
  const res = await post(server.url, frameMedia('cam1'));
  assert.equal(res.status, 502);
});

test('500 when the EOS confirmation is not OK (writer error)', async (t) => {
  const ep = await tcp();
  const wrong = new zmq.Router(); // raw socket answering the EOS with something other than OK
  t.after(() => wrong.close());
  await wrong.bind(ep);
  void (async () => {
    for await (const [rid] of wrong) await wrong.send([rid, 'NO']);
  })().catch(() => undefined);
  const server = await gateway(t, serverConfig(writerConfig(`dealer+connect:${ep}`)));
  assert.equal((await post(server.url, VECTOR_MEDIA)).status, 500);
});

test('400s: content type, malformed body, no message, no content, topic not UTF-8; empty bodies', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const good = frameMedia('cam1');

  const cases: [string, Uint8Array, Record<string, string>][] = [
    ['no content type', good, {}],
    ['text/plain', good, { 'Content-Type': 'text/plain' }],
    ['case differs', good, { 'Content-Type': 'application/Protobuf' }],
    ['malformed protobuf', hex('0a ff ff ff'), PROTOBUF],
    ['empty body = no message', new Uint8Array(0), PROTOBUF],
    [
      'message without content',
      encodeMedia({ message: hex('0a 05 30 2e 32 2e 30'), topic: enc.encode('cam1'), data: [] }),
      PROTOBUF,
    ],
    [
      'malformed message',
      encodeMedia({ message: hex('4a 10 0a'), topic: enc.encode('cam1'), data: [] }),
      PROTOBUF,
    ],
    [
      'topic not UTF-8',
      encodeMedia({
        message: buildMessage({ content: 'video_frame', sourceId: 'x' }),
        topic: hex('ff fe'),
        data: [],
      }),
      PROTOBUF,
    ],
  ];
  for (const [name, body, headers] of cases) {
    const res = await post(server.url, body, headers);
    assert.equal(res.status, 400, name);
    assert.equal(res.body.length, 0, name);
  }
  // parameters after ';' are ignored, and application/x-protobuf is accepted too; nothing bad reached the sink
  const got = nextMessage(reader);
  assert.equal(
    (await post(server.url, good, { 'Content-Type': 'application/x-protobuf; proto=Media' })).status,
    200,
  );
  assert.equal(Buffer.from((await got).topic).toString(), 'cam1');
});

test('413 above max_body_size, by Content-Length and by streamed (chunked) bytes', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { maxBodySize: 200 });
  const big = frameMedia('cam1', [Buffer.alloc(300, 7)]);
  const r1 = await post(server.url, big);
  assert.equal(r1.status, 413);
  assert.equal(r1.headers.connection, 'close');
  const r2 = await request(server.url, {
    method: 'POST',
    headers: PROTOBUF,
    body: [big.subarray(0, 150), big.subarray(150)],
  });
  assert.equal(r2.status, 413);
  // a body of exactly the limit passes
  const base = frameMedia('cam1', [Buffer.alloc(0)]).length;
  let n = 200 - base;
  while (frameMedia('cam1', [Buffer.alloc(n, 1)]).length > 200) n--;
  const fits = frameMedia('cam1', [Buffer.alloc(n, 1)]);
  const got = nextMessage(reader);
  assert.equal((await post(server.url, fits)).status, 200);
  assert.equal((await got).data[0].length, n);
});

test('404 for other paths, 405 for other methods, /health exactly as the original', async (t) => {
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:${await tcp()}`, { sendTimeoutMs: 100 })),
  );
  assert.equal((await request(server.url + '/nope')).status, 404);
  assert.equal((await request(server.url + '/gateway', { method: 'POST' })).status, 404);
  assert.equal((await request(server.url + '/')).status, 405);
  assert.equal((await request(server.url + '/batch')).status, 405);
  assert.equal((await request(server.url + '/health', { method: 'POST' })).status, 405);
  const h = await request(server.url + '/health');
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-type'], 'application/json');
  assert.equal(h.body.toString(), '{"status":"healthy"}');
  assert.deepEqual(server.health(), { status: 'healthy' });
});

test('/metrics counts forwarded messages and responses', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  const forwarded = 'media_gateway_messages_total{side="server",outcome="forwarded"}';
  const ok = 'media_gateway_http_responses_total{side="server",status="200"}';
  const before = (await request(server.url + '/metrics')).body.toString();
  const got = nextMessage(reader);
  assert.equal((await post(server.url, frameMedia('cam1'))).status, 200);
  await got;
  const res = await request(server.url + '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const after = res.body.toString();
  assert.equal(value(after, forwarded), value(before, forwarded) + 1);
  assert.ok(value(after, ok) >= value(before, ok) + 1);
  assert.match(after, /media_gateway_request_duration_seconds_count\{side="server"\} \d+/);
});

test('a request waiting on a slow sink does not block other requests', async (t) => {
  const ep = await tcp();
  const slow = new zmq.Reply(); // raw socket so the test decides when the ack goes back
  t.after(() => slow.close());
  await slow.bind(ep);
  const server = await gateway(
    t,
    serverConfig(writerConfig(`req+connect:${ep}`, { receiveTimeoutMs: 5000 })),
  );
  const pending = post(server.url, frameMedia('cam1'));
  await slow.receive(); // the gateway is now waiting for the reply
  const h = await request(server.url + '/health');
  assert.equal(h.status, 200, '/health answered while the POST waits');
  await slow.send('OK');
  assert.equal((await pending).status, 200);
});

test('POST /batch: all items accepted in order', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const items = ['a', 'b', 'c'].map((s) => frameMedia(`cam-${s}`, [Buffer.from(s)]));
  const res = await post(server.url + '/batch', encodeMediaBatch(items));
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(res.body.toString()), { accepted: 3, status: 200 });
  for (const s of ['a', 'b', 'c']) {
    const m = await nextMessage(reader);
    assert.equal(Buffer.from(m.topic).toString(), `cam-${s}`);
  }
});

test('POST /batch: stops at the first item that is not accepted', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const noContent = encodeMedia({ message: hex('0a 05 30 2e 32 2e 30'), topic: enc.encode('x'), data: [] });
  const items = [frameMedia('first'), frameMedia('second'), noContent, frameMedia('never')];
  const res = await post(server.url + '/batch', encodeMediaBatch(items));
  assert.deepEqual(JSON.parse(res.body.toString()), { accepted: 2, status: 400 });
  assert.equal(Buffer.from((await nextMessage(reader)).topic).toString(), 'first');
  assert.equal(Buffer.from((await nextMessage(reader)).topic).toString(), 'second');
  // 'never' was not forwarded: the next thing the sink sees is what we send now
  const got = nextMessage(reader);
  assert.equal((await post(server.url, frameMedia('after'))).status, 200);
  assert.equal(Buffer.from((await got).topic).toString(), 'after');

  assert.equal((await post(server.url + '/batch', hex('0a ff ff'))).status, 400, 'malformed envelope');
  assert.equal(
    (await post(server.url + '/batch', encodeMediaBatch(items), { 'Content-Type': 'text/plain' })).status,
    400,
  );
});

test('POST /batch: large items arrive whole and in order, each split from the body as it arrives', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  // 3 MiB, 1 MiB, an empty item's frame and 70 kB: past the first buffer, the hold limit and a socket read
  const frames = [3 << 20, 1 << 20, 0, 70_000].map((n, i) => Buffer.alloc(n, i + 1));
  const items = frames.map((f, i) => frameMedia(`cam-${i}`, [f]));
  const res = await post(server.url + '/batch', encodeMediaBatch(items));
  assert.deepEqual(JSON.parse(res.body.toString()), { accepted: 4, status: 200 });
  for (const [i, f] of frames.entries()) {
    const m = await nextMessage(reader);
    assert.equal(Buffer.from(m.topic).toString(), `cam-${i}`);
    assert.ok(Buffer.from(m.data[0]).equals(f), `item ${i} byte for byte`);
  }
});

test('POST /batch: framing our client never writes is decoded whole, as before', async (t) => {
  const { server, reader } = await gatewayToRouter(t);
  const items = [frameMedia('first'), frameMedia('second')];
  // an unknown field between the items: skipped by the decoder, both items forwarded
  const body = Buffer.concat([encodeMediaBatch([items[0]]), hex('10 01'), encodeMediaBatch([items[1]])]);
  assert.deepEqual(JSON.parse((await post(server.url + '/batch', body)).body.toString()), {
    accepted: 2,
    status: 200,
  });
  assert.equal(Buffer.from((await nextMessage(reader)).topic).toString(), 'first');
  assert.equal(Buffer.from((await nextMessage(reader)).topic).toString(), 'second');
  // a body that ends inside an item's length: malformed, nothing forwarded
  const cut = Buffer.concat([encodeMediaBatch([frameMedia('never')]), hex('0a 80')]);
  assert.equal((await post(server.url + '/batch', cut)).status, 400);
  const got = nextMessage(reader);
  assert.equal((await post(server.url, frameMedia('after'))).status, 200);
  assert.equal(Buffer.from((await got).topic).toString(), 'after');
});

test('POST /batch: writer failures end the batch with their status; body limit is per request', async (t) => {
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:${await tcp()}`, { sendTimeoutMs: 100 }), { maxBodySize: 300 }),
  );
  const res = await post(server.url + '/batch', encodeMediaBatch([frameMedia('a'), frameMedia('b')]));
  assert.deepEqual(JSON.parse(res.body.toString()), { accepted: 0, status: 504 });
  const many = encodeMediaBatch(Array.from({ length: 10 }, () => frameMedia('cam1', [Buffer.alloc(40)])));
  assert.ok(many.length > 300);
  assert.equal((await post(server.url + '/batch', many)).status, 413);
});

test('ops (older name metrics): /metrics moves to the operations listener and leaves the main port', async (t) => {
  const metricsPort = await freePort();
  const server = await gateway(
    t,
    serverConfig(writerConfig(`dealer+bind:${await tcp()}`, { sendTimeoutMs: 100 }), {
      ops: { ip: '127.0.0.1', port: metricsPort },
    }),
  );
  assert.equal((await request(server.url + '/metrics')).status, 404);
  const m = await request(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.body.toString(), /media_gateway_messages_total/);
  assert.equal((await request(`http://127.0.0.1:${metricsPort}/`)).status, 404);
});
