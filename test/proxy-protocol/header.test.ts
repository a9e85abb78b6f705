// The PROXY protocol parser (src/proxy-protocol/header.ts) on every shape of header: v1 TCP4/TCP6/UNKNOWN,
// v2 LOCAL/PROXY with IPv4/IPv6/UNIX/UNSPEC and TLVs, split at every byte, and each way a header can be
// wrong (signature, version, command, family, lengths, TLVs, size, characters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, V2_SIGNATURE, type ParseResult } from '../../src/proxy-protocol/header.js';
import { v2Header } from './encode.js';

function header(r: ParseResult) {
  assert.equal(r.kind, 'header', JSON.stringify(r));
  return r as Extract<ParseResult, { kind: 'header' }>;
}

function invalid(r: ParseResult, pattern: RegExp) {
  assert.equal(r.kind, 'invalid', JSON.stringify(r));
  assert.match((r as { reason: string }).reason, pattern);
}

/** Every proper prefix of a complete header is incomplete, never invalid or 'none'. */
function assertPrefixesIncomplete(bytes: Buffer) {
  for (let i = 0; i < bytes.length; i++)
    assert.deepEqual(parseProxyHeader(bytes.subarray(0, i)), { kind: 'incomplete' }, `prefix of ${i} bytes`);
}

test('v1 TCP4: addresses and ports, length up to the CRLF, the rest left to the connection', () => {
  const text = 'PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n';
  const r = header(parseProxyHeader(Buffer.from(text + '\x16\x03\x01')));
  assert.equal(r.length, text.length);
  assert.deepEqual(r.header.source, { address: '192.0.2.10', port: 56324 });
  assert.deepEqual(r.header.destination, { address: '198.51.100.1', port: 443 });
  assert.equal(r.header.family, 'tcp4');
  assert.equal(r.header.version, 1);
  assertPrefixesIncomplete(Buffer.from(text));
});

test('v1 TCP6 and UNKNOWN', () => {
  const r = header(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 ::1 0 65535\r\n')));
  assert.deepEqual(r.header.source, { address: '2001:db8::1', port: 0 });
  assert.equal(r.header.destination?.port, 65535);
  const u = header(parseProxyHeader(Buffer.from('PROXY UNKNOWN ff ee 1 2\r\nGET')));
  assert.equal(u.header.family, 'unknown');
  assert.equal(u.header.source, undefined);
  assert.equal(u.length, 'PROXY UNKNOWN ff ee 1 2\r\n'.length);
  assert.equal(header(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).length, 15);
});

test('v1 IPv6 addresses are canonicalised as v2 and Node write them', () => {
  for (const [text, want] of [
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['::FFFF:10.1.2.3', '::ffff:10.1.2.3'],
  ]) {
    const r = header(parseProxyHeader(Buffer.from(`PROXY TCP6 ${text} ${text} 1 2\r\n`)));
    assert.equal(r.header.source?.address, want, text);
    assert.equal(r.header.destination?.address, want, text);
  }
});

test('v1 refuses every deviation from the format', () => {
  const bad: [string, RegExp][] = [
    ['PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n', /line feed without a carriage return/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX', /carriage return not followed/],
    ['PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n', /not TCP4, TCP6 or UNKNOWN/],
    ['PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n', /exactly 6/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n', /exactly 6/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n', /exactly 6/],
    ['PROXY TCP4 ::1 192.0.2.2 1 2\r\n', /IPv4/],
    ['PROXY TCP6 192.0.2.1 ::1 1 2\r\n', /IPv6/],
    ['PROXY TCP4 192.0.2.256 192.0.2.2 1 2\r\n', /IPv4/],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /IPv6/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n', /leading zeros/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n', /0 to 65535/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n', /0 to 65535/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n', /exactly 6/],
    ['PROXY TCP4 192.0.2.1 192.0.2.2 1\t2\r\n', /printable ASCII/],
    ['PROXY TCP4 192.0.2.1 192.0.2.\u00e92 1 2\r\n', /printable ASCII/],
  ];
  for (const [text, reason] of bad) invalid(parseProxyHeader(Buffer.from(text, 'latin1')), reason);
});

test('v1 longer than 107 bytes without a CRLF is refused; up to then it is incomplete', () => {
  const long = Buffer.from('PROXY UNKNOWN ' + 'x'.repeat(200));
  assert.equal(parseProxyHeader(long.subarray(0, 106)).kind, 'incomplete');
  invalid(parseProxyHeader(long), /longer than 107/);
  // a CRLF just past the limit does not make it valid
  invalid(parseProxyHeader(Buffer.concat([long.subarray(0, 106), Buffer.from('\r\n')])), /longer than 107/);
  // exactly 107 bytes with the CRLF at the end is the largest accepted
  const max = Buffer.from('PROXY UNKNOWN ' + 'y'.repeat(107 - 16) + '\r\n');
  assert.equal(max.length, 107);
  assert.equal(header(parseProxyHeader(max)).length, 107);
});

test('bytes that cannot start a header are "none" as soon as one byte disagrees', () => {
  assert.equal(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01])).kind, 'none');
  assert.equal(parseProxyHeader(Buffer.from('POST / HTTP/1.1\r\n')).kind, 'none');
  assert.equal(parseProxyHeader(Buffer.from('PROXZ')).kind, 'none');
  assert.equal(parseProxyHeader(Buffer.from('PRO')).kind, 'incomplete');
  assert.equal(parseProxyHeader(Buffer.from('\r\n\r\n\0\r\nQUIX')).kind, 'none');
  assert.equal(parseProxyHeader(Buffer.from('\r\n\r\n')).kind, 'incomplete');
  assert.equal(parseProxyHeader(Buffer.alloc(0)).kind, 'incomplete');
});

test('v2 PROXY over IPv4, split at every byte, with the rest left to the connection', () => {
  const bytes = v2Header({ family: 'inet', source: ['203.0.113.7', 40000], destination: ['10.0.0.1', 8443] });
  assertPrefixesIncomplete(bytes);
  const r = header(parseProxyHeader(Buffer.concat([bytes, Buffer.from([0x16, 0x03])])));
  assert.equal(r.length, bytes.length);
  assert.equal(r.header.version, 2);
  assert.equal(r.header.command, 'proxy');
  assert.deepEqual(r.header.source, { address: '203.0.113.7', port: 40000 });
  assert.deepEqual(r.header.destination, { address: '10.0.0.1', port: 8443 });
});

test('v2 PROXY over IPv6: canonical compressed text; IPv4-mapped written as Node writes it', () => {
  const r = header(
    parseProxyHeader(
      v2Header({ family: 'inet6', source: ['2001:db8:0:0:1:0:0:1', 1], destination: ['::1', 2] }),
    ),
  );
  assert.equal(r.header.source?.address, '2001:db8::1:0:0:1');
  assert.equal(r.header.destination?.address, '::1');
  const m = header(
    parseProxyHeader(v2Header({ family: 'inet6', source: ['::ffff:192.0.2.9', 3], destination: ['::', 4] })),
  );
  assert.equal(m.header.source?.address, '::ffff:192.0.2.9');
  assert.equal(m.header.destination?.address, '::');
  const full = header(
    parseProxyHeader(
      v2Header({ family: 'inet6', source: ['1:2:3:4:5:6:7:8', 3], destination: ['1:0:3:4:5:6:7:8', 4] }),
    ),
  );
  assert.equal(full.header.source?.address, '1:2:3:4:5:6:7:8');
  assert.equal(full.header.destination?.address, '1:0:3:4:5:6:7:8');
});

test('v2 UNIX: the socket paths, no network source', () => {
  const r = header(
    parseProxyHeader(v2Header({ family: 'unix', unix: ['/run/client.sock', '/run/lb.sock'] })),
  );
  assert.equal(r.header.family, 'unix');
  assert.equal(r.header.unixSource, '/run/client.sock');
  assert.equal(r.header.unixDestination, '/run/lb.sock');
  assert.equal(r.header.source, undefined);
});

test('v2 LOCAL (a balancer health check) and UNSPEC: a header with no source to use', () => {
  const local = header(parseProxyHeader(v2Header({ command: 'local', family: 'unspec' })));
  assert.equal(local.header.command, 'local');
  assert.equal(local.length, 16);
  const unspec = header(parseProxyHeader(v2Header({ family: 'unspec', extra: Buffer.from([1, 2, 3]) })));
  assert.equal(unspec.header.source, undefined);
  // LOCAL may carry addresses; they are parsed but the command says to ignore them
  const withAddr = header(
    parseProxyHeader(
      v2Header({ command: 'local', family: 'inet', source: ['1.2.3.4', 1], destination: ['5.6.7.8', 2] }),
    ),
  );
  assert.equal(withAddr.header.command, 'local');
});

test('v2 TLVs after the addresses are returned in order; an overrunning TLV is refused', () => {
  const tlvs = Buffer.concat([
    Buffer.from([0x01, 0x00, 0x02]), // ALPN "h2"
    Buffer.from('h2'),
    Buffer.from([0x04, 0x00, 0x00]), // NOOP, empty
    Buffer.from([0x02, 0x00, 0x07]),
    Buffer.from('gateway'),
  ]);
  const r = header(
    parseProxyHeader(
      v2Header({ family: 'inet', source: ['1.1.1.1', 1], destination: ['2.2.2.2', 2], extra: tlvs }),
    ),
  );
  assert.deepEqual(
    r.header.tlvs.map((t) => [t.type, t.value.toString()]),
    [
      [1, 'h2'],
      [4, ''],
      [2, 'gateway'],
    ],
  );
  // a TLV whose declared length runs past the block, and one cut inside its own 3-byte header
  for (const extra of [
    [0x01, 0x00, 0x05, 0x41],
    [0x01, 0x00],
  ]) {
    const bytes = v2Header({
      family: 'inet',
      source: ['1.1.1.1', 1],
      destination: ['2.2.2.2', 2],
      extra: Buffer.from(extra),
    });
    invalid(parseProxyHeader(bytes), /TLV runs past/);
  }
});

test('v2 refuses a wrong version, command, family or protocol as soon as that byte arrives', () => {
  const base = v2Header({ family: 'inet', source: ['1.1.1.1', 1], destination: ['2.2.2.2', 2] });
  const at = (i: number, b: number, upTo = base.length) => {
    const copy = Buffer.from(base);
    copy[i] = b;
    return parseProxyHeader(copy.subarray(0, upTo));
  };
  invalid(at(12, 0x11, 13), /version nibble is 1/);
  invalid(at(12, 0x31), /version nibble is 3/);
  invalid(at(12, 0x22, 13), /command 2/);
  invalid(at(13, 0x41, 14), /family 4/);
  invalid(at(13, 0x13, 14), /protocol 3/);
  invalid(at(13, 0x12), /datagram/);
});

test('v2 lengths: shorter than the family needs, or longer than the bound, are refused', () => {
  const short = v2Header({ family: 'inet', source: ['1.1.1.1', 1], destination: ['2.2.2.2', 2] });
  short.writeUInt16BE(11, 14);
  invalid(parseProxyHeader(short.subarray(0, 16 + 11)), /shorter than its family needs \(11 < 12/);
  const six = v2Header({ family: 'inet6', source: ['::1', 1], destination: ['::2', 2] });
  six.writeUInt16BE(12, 14);
  invalid(parseProxyHeader(six.subarray(0, 28)), /11|12 < 36/);
  const unix = v2Header({ family: 'unix', unix: ['/a', '/b'] });
  unix.writeUInt16BE(100, 14);
  invalid(parseProxyHeader(unix.subarray(0, 116)), /100 < 216/);
  // the bound is checked from the 16 fixed bytes alone: no waiting for 64 KiB that will be refused anyway
  const huge = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
  invalid(parseProxyHeader(huge, 4096), /65551 bytes is longer than the 4096/);
  const edge = v2Header({
    family: 'inet',
    source: ['1.1.1.1', 1],
    destination: ['2.2.2.2', 2],
    extra: Buffer.from([0x04, 0x00, 0x00]),
  });
  assert.equal(parseProxyHeader(edge, edge.length).kind, 'header');
  invalid(parseProxyHeader(edge, edge.length - 1), /longer than/);
});

test('v2 with a truncated address block waits for the declared length', () => {
  const bytes = v2Header({ family: 'inet6', source: ['2001:db8::5', 9], destination: ['::1', 10] });
  assert.equal(parseProxyHeader(bytes.subarray(0, 40)).kind, 'incomplete');
  assert.equal(parseProxyHeader(bytes).kind, 'header');
});
