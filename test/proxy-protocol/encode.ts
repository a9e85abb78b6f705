// Builds PROXY protocol headers for the tests, byte by byte from the format (not with the parser under
// test), so a parser bug cannot hide behind a matching encoder bug.
import net from 'node:net';
import { V2_SIGNATURE } from '../../src/proxy-protocol/header.js';

const FAMILY = { unspec: 0x0, inet: 0x1, inet6: 0x2, unix: 0x3 } as const;

function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

function ipv6Bytes(a: string): Buffer {
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7)))
    return Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), ipv4Bytes(a.slice(7))]);
  const [head, tail] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function unixBytes(p: string): Buffer {
  const out = Buffer.alloc(108);
  Buffer.from(p).copy(out);
  return out;
}

export function v2Header(h: {
  command?: 'local' | 'proxy';
  family: keyof typeof FAMILY;
  source?: [string, number];
  destination?: [string, number];
  unix?: [string, string];
  extra?: Buffer;
}): Buffer {
  let body: Buffer = Buffer.alloc(0);
  if (h.family === 'inet' || h.family === 'inet6') {
    const enc = h.family === 'inet' ? ipv4Bytes : ipv6Bytes;
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(h.source![1], 0);
    ports.writeUInt16BE(h.destination![1], 2);
    body = Buffer.concat([enc(h.source![0]), enc(h.destination![0]), ports]);
  } else if (h.family === 'unix') {
    body = Buffer.concat([unixBytes(h.unix![0]), unixBytes(h.unix![1])]);
  }
  body = Buffer.concat([body, h.extra ?? Buffer.alloc(0)]);
  const fixed = Buffer.alloc(4);
  fixed[0] = 0x20 | (h.command === 'local' ? 0 : 1);
  fixed[1] = (FAMILY[h.family] << 4) | (h.family === 'unspec' ? 0 : 1);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, body]);
}

export function v1Header(source: string, sourcePort: number, destinationPort = 443): Buffer {
  const six = net.isIPv6(source);
  const destination = six ? '::1' : '127.0.0.1';
  return Buffer.from(
    `PROXY ${six ? 'TCP6' : 'TCP4'} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`,
  );
}
