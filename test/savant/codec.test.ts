// Message inspection and the Media / MediaBatch HTTP bodies, against the original's test vectors (an EOS and a video frame of source cam1, and
// the Media holding that EOS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMessage, inspectMessage, MessageDecodeError } from '../../src/savant/message.js';
import { decodeMedia, decodeMediaBatch, encodeMedia, encodeMediaBatch } from '../../src/savant/media.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const EOS = hex('0a 05 30 2e 32 2e 30 20 01 4a 06 0a 04 63 61 6d 31');
const SHUTDOWN = hex('0a 05 30 2e 32 2e 30 5a 08 0a 06 73 65 63 72 65 74');
const MEDIA = hex('0a 11 0a 05 30 2e 32 2e 30 20 01 4a 06 0a 04 63 61 6d 31 12 04 63 61 6d 31 1a 01 01');
const FRAME = hex(
  '0a 05 30 2e 32 2e 30 20 01 2a 53 12 04 63 61 6d 31 1a 24 30 31 39 30 62 39 61 31 2d 30 30 30 30 2d 37 30 30 30 2d 38 30 30 30 2d 30 30 30 30 30 30 30 30 30 30 30 31 28 80 80 b0 ad b1 dc aa ef 17 32 04 33 30 2f 31 38 80 0a 40 d0 05 52 04 68 32 36 34 58 01 60 01 68 c0 84 3d 9a 01 00',
);

test("inspectMessage reads the original's test vectors", () => {
  assert.deepEqual(inspectMessage(EOS), {
    protocolVersion: '0.2.0',
    routingLabels: [],
    seqId: 1n,
    content: 'end_of_stream',
    eosSourceId: 'cam1',
  });
  assert.deepEqual(inspectMessage(SHUTDOWN), {
    protocolVersion: '0.2.0',
    routingLabels: [],
    seqId: 0n,
    content: 'shutdown',
  });
  assert.equal(inspectMessage(FRAME).content, 'video_frame');
  assert.deepEqual(inspectMessage(new Uint8Array()), {
    protocolVersion: '',
    routingLabels: [],
    seqId: 0n,
    content: null,
  });
});

test('buildMessage reproduces the EOS vector and round-trips every kind', () => {
  assert.deepEqual(buildMessage({ content: 'end_of_stream', sourceId: 'cam1', seqId: 1n }), EOS);
  const kinds = [
    'video_frame',
    'video_frame_batch',
    'video_frame_update',
    'user_data',
    'end_of_stream',
    'unknown',
    'shutdown',
  ] as const;
  for (const content of kinds) {
    const info = inspectMessage(
      buildMessage({
        content,
        sourceId: 's',
        routingLabels: ['a', 'b'],
        protocolVersion: '1.15.1',
        seqId: 300n,
      }),
    );
    assert.equal(info.content, content);
    assert.deepEqual(info.routingLabels, ['a', 'b']);
    assert.equal(info.protocolVersion, '1.15.1');
    assert.equal(info.seqId, 300n);
  }
  const withPayload = buildMessage({
    content: 'video_frame',
    sourceId: 'cam',
    payload: new Uint8Array(1000).fill(7),
  });
  assert.ok(withPayload.length > 1000);
  assert.ok(Buffer.from(withPayload).includes(Buffer.alloc(1000, 7)));
});

test('inspectMessage skips unknown fields (newer peers, e.g. system_id = 20)', () => {
  const extended = Buffer.concat([EOS, hex('a2 01 03 61 62 63')]);
  assert.equal(inspectMessage(extended).eosSourceId, 'cam1');
});

test('malformed Message bytes throw MessageDecodeError', () => {
  const bad = {
    'truncated length': hex('0a 05 30 2e'),
    'truncated varint': hex('20 ff'),
    'bad wire type for protocol_version': hex('08 01'),
    'wire type 7': hex('0f'),
    'field number 0': hex('02 00'),
    'invalid UTF-8 version': hex('0a 02 c3 28'),
    'invalid UTF-8 label': hex('12 01 ff'),
    'truncated content': hex('4a 06 0a 04 63'),
    'bad EOS body': hex('4a 02 0a 05'),
  };
  for (const [name, bytes] of Object.entries(bad)) {
    assert.throws(() => inspectMessage(bytes), MessageDecodeError, name);
  }
});

test("the original's Media vector decodes and re-encodes byte for byte, zero copy", () => {
  const m = decodeMedia(MEDIA);
  assert.deepEqual(m.message, EOS);
  assert.equal(Buffer.from(m.topic).toString(), 'cam1');
  assert.deepEqual(m.data, [Uint8Array.of(1)]);
  assert.equal(m.message!.buffer, MEDIA.buffer, 'message is a view into the body');
  assert.deepEqual(encodeMedia(m), MEDIA);
});

test('Media edge cases: absent message, empty data frames, malformed', () => {
  assert.deepEqual(decodeMedia(new Uint8Array()), { topic: new Uint8Array(), data: [] });
  const m = { topic: Buffer.from('t'), data: [new Uint8Array(), Uint8Array.of(5)] };
  const back = decodeMedia(encodeMedia(m));
  assert.equal(back.message, undefined);
  assert.deepEqual(
    back.data.map((d) => [...d]),
    [[], [5]],
  );
  assert.throws(() => decodeMedia(hex('0a 11 0a')), MessageDecodeError);
  assert.throws(() => decodeMedia(hex('10 01')), MessageDecodeError);
});

test('MediaBatch wraps and unwraps encoded items unchanged', () => {
  const items = [MEDIA, encodeMedia({ message: SHUTDOWN, topic: Buffer.from('x'), data: [] })];
  const batch = encodeMediaBatch(items);
  const out = decodeMediaBatch(batch);
  assert.deepEqual(out, items);
  assert.equal(out[0].buffer, batch.buffer);
  assert.deepEqual(decodeMediaBatch(new Uint8Array()), []);
  assert.throws(() => decodeMediaBatch(hex('0a 05 01')), MessageDecodeError);
  assert.throws(() => decodeMediaBatch(hex('08 01')), MessageDecodeError);
});
