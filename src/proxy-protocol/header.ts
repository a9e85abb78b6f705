// The PROXY protocol header (versions 1 and 2) a TCP load balancer such as haproxy (`send-proxy`,
// `send-proxy-v2`) puts before the client's first byte, naming the client's address. The parser is
// incremental: it is given everything received so far and answers `incomplete` until the header is whole,
// so a header split across TCP segments is read like one sent at once. It never looks further than
// `maxBytes`, and any deviation from the format (a stray space, a leading zero, an address that does not
// fit its family, a TLV overrunning the header) refuses the header rather than guessing: a header decides
// which address is charged for failed logins, so a lenient reading would hand the attacker a choice.
// Format reference: the "proxy-protocol.txt" specification shipped with haproxy.
import net from 'node:net';

/** v1: "PROXY " … CRLF, at most 107 bytes in all. */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
export const V1_MAX_BYTES = 107;
/** v2: a 12-byte signature, then version/command, family/protocol, a 16-bit length, addresses, TLVs. */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_FIXED = 16;
/** Address block sizes of v2 families: INET (2×4 + 2×2), INET6 (2×16 + 2×2), UNIX (2×108). */
const V2_ADDRESS_BYTES = { inet: 12, inet6: 36, unix: 216 } as const;
/** The largest v2 header accepted by default: addresses plus the few TLVs a balancer sends (ALPN, authority, …). */
export const DEFAULT_MAX_HEADER_BYTES = 4096;
/** The smallest bound that still admits every v2 address family without TLVs (UNIX: 16 + 216). */
export const MIN_HEADER_BYTES = V2_FIXED + V2_ADDRESS_BYTES.unix;

export interface Tlv {
  type: number;
  value: Buffer;
}

/** What a complete header says. `source` is absent when the header names no usable address. */
export interface ProxyHeader {
  version: 1 | 2;
  /** LOCAL (v2): the balancer's own connection (a health check); its addresses are to be ignored */
  command: 'proxy' | 'local';
  /** v1 TCP4/TCP6 → tcp4/tcp6; v1 UNKNOWN and v2 UNSPEC → unknown */
  family: 'tcp4' | 'tcp6' | 'unix' | 'unknown';
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
  /** UNIX family: the socket paths (the source then is not a network address) */
  unixSource?: string;
  unixDestination?: string;
  tlvs: Tlv[];
}

export type ParseResult =
  /** more bytes are needed to decide */
  | { kind: 'incomplete' }
  /** the bytes cannot start a PROXY header: the connection's own first bytes */
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string }
  /** `length` bytes make the header; whatever follows belongs to the connection */
  | { kind: 'header'; length: number; header: ProxyHeader };

const incomplete: ParseResult = { kind: 'incomplete' };
const invalid = (reason: string): ParseResult => ({ kind: 'invalid', reason });

/** `buf` is a prefix of `whole` (possibly all of it), or `whole` is a prefix of `buf`. */
function agreesWith(buf: Buffer, whole: Buffer): boolean {
  const n = Math.min(buf.length, whole.length);
  return buf.subarray(0, n).equals(whole.subarray(0, n));
}

export function parseProxyHeader(buf: Buffer, maxBytes = DEFAULT_MAX_HEADER_BYTES): ParseResult {
  if (buf.length === 0) return incomplete;
  if (agreesWith(buf, V2_SIGNATURE))
    return buf.length < V2_SIGNATURE.length ? incomplete : parseV2(buf, maxBytes);
  if (agreesWith(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? incomplete : parseV1(buf);
  return { kind: 'none' };
}

// ---- version 1 ----

const PORT = /^(0|[1-9][0-9]{0,4})$/;

function port(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV1(buf: Buffer): ParseResult {
  const window = buf.subarray(0, V1_MAX_BYTES);
  const cr = window.indexOf(0x0d);
  const lf = window.indexOf(0x0a);
  if (lf >= 0 && lf !== cr + 1)
    return invalid('v1 header has a line feed without a carriage return before it');
  if (cr < 0 || cr + 1 >= window.length)
    return buf.length >= V1_MAX_BYTES ? invalid(`v1 header longer than ${V1_MAX_BYTES} bytes`) : incomplete;
  if (window[cr + 1] !== 0x0a) return invalid('v1 header has a carriage return not followed by a line feed');
  const line = window.subarray(0, cr);
  for (const b of line)
    if (b < 0x20 || b > 0x7e) return invalid('v1 header holds a byte that is not printable ASCII');
  const length = cr + 2;
  const fields = line.toString('latin1').split(' ');
  const proto = fields[1];
  if (proto === 'UNKNOWN')
    return { kind: 'header', length, header: { version: 1, command: 'proxy', family: 'unknown', tlvs: [] } };
  if (proto !== 'TCP4' && proto !== 'TCP6') return invalid('v1 protocol is not TCP4, TCP6 or UNKNOWN');
  if (fields.length !== 6) return invalid('v1 header does not have exactly 6 space-separated fields');
  const [, , src, dst, sport, dport] = fields;
  const family = proto === 'TCP4' ? 4 : 6;
  if (net.isIP(src) !== family || net.isIP(dst) !== family)
    return invalid(`v1 addresses are not both IPv${family} addresses`);
  if (family === 6 && (src.includes('%') || dst.includes('%'))) return invalid('v1 IPv6 address has a zone');
  const sourcePort = port(sport);
  const destinationPort = port(dport);
  if (sourcePort === undefined || destinationPort === undefined)
    return invalid('v1 port is not a decimal number from 0 to 65535 without leading zeros');
  return {
    kind: 'header',
    length,
    header: {
      version: 1,
      command: 'proxy',
      family: family === 4 ? 'tcp4' : 'tcp6',
      source: { address: src, port: sourcePort },
      destination: { address: dst, port: destinationPort },
      tlvs: [],
    },
  };
}

// ---- version 2 ----

function parseV2(buf: Buffer, maxBytes: number): ParseResult {
  if (buf.length < V2_FIXED) return earlyV2Checks(buf) ?? incomplete;
  const early = earlyV2Checks(buf);
  if (early) return early;
  const length = V2_FIXED + buf.readUInt16BE(14);
  if (length > maxBytes)
    return invalid(`v2 header of ${length} bytes is longer than the ${maxBytes} accepted`);
  if (buf.length < length) return incomplete;
  const command = (buf[12] & 0x0f) === 0 ? 'local' : 'proxy';
  const familyNibble = buf[13] >> 4;
  const body = buf.subarray(V2_FIXED, length);
  // LOCAL and UNSPEC: the specification says to discard the whole block, addresses and TLVs alike
  if (command === 'local' || familyNibble === 0)
    return { kind: 'header', length, header: { version: 2, command, family: 'unknown', tlvs: [] } };
  const family = (['unknown', 'tcp4', 'tcp6', 'unix'] as const)[familyNibble];
  const need =
    familyNibble === 1
      ? V2_ADDRESS_BYTES.inet
      : familyNibble === 2
        ? V2_ADDRESS_BYTES.inet6
        : familyNibble === 3
          ? V2_ADDRESS_BYTES.unix
          : 0;
  if (body.length < need)
    return invalid(`v2 address block shorter than its family needs (${body.length} < ${need} bytes)`);
  const tlvs = parseTlvs(body.subarray(need));
  if (!tlvs) return invalid('v2 TLV runs past the end of the header');
  const header: ProxyHeader = { version: 2, command, family, tlvs };
  if (familyNibble === 1) {
    header.source = { address: ipv4(body.subarray(0, 4)), port: body.readUInt16BE(8) };
    header.destination = { address: ipv4(body.subarray(4, 8)), port: body.readUInt16BE(10) };
  } else if (familyNibble === 2) {
    header.source = { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) };
    header.destination = { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) };
  } else if (familyNibble === 3) {
    header.unixSource = unixPath(body.subarray(0, 108));
    header.unixDestination = unixPath(body.subarray(108, 216));
  }
  return { kind: 'header', length, header };
}

/** The checks possible on the fixed part as soon as its bytes arrive (so garbage is refused early). */
function earlyV2Checks(buf: Buffer): ParseResult | undefined {
  if (buf.length > 12) {
    if (buf[12] >> 4 !== 2) return invalid(`v2 version nibble is ${buf[12] >> 4}, not 2`);
    if ((buf[12] & 0x0f) > 1) return invalid(`v2 command ${buf[12] & 0x0f} is neither LOCAL nor PROXY`);
  }
  if (buf.length > 13) {
    const familyNibble = buf[13] >> 4;
    const proto = buf[13] & 0x0f;
    if (familyNibble > 3) return invalid(`v2 address family ${familyNibble} is unknown`);
    if (proto > 2) return invalid(`v2 transport protocol ${proto} is unknown`);
    // a datagram header describes no TCP connection: it cannot be this connection's origin
    if (proto === 2 && (buf[12] & 0x0f) === 1)
      return invalid('v2 header describes a datagram (UDP) connection');
  }
  return undefined;
}

function parseTlvs(rest: Buffer): Tlv[] | undefined {
  const tlvs: Tlv[] = [];
  let at = 0;
  while (at < rest.length) {
    if (at + 3 > rest.length) return undefined;
    const type = rest[at];
    const len = rest.readUInt16BE(at + 1);
    if (at + 3 + len > rest.length) return undefined;
    tlvs.push({ type, value: Buffer.from(rest.subarray(at + 3, at + 3 + len)) });
    at += 3 + len;
  }
  return tlvs;
}

function ipv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** Canonical text (compressed, lower case), as Node reports socket addresses. */
function ipv6(b: Buffer): string {
  // IPv4-mapped: written as Node writes it (and as src/limits/address.ts expects it)
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return `::ffff:${ipv4(b.subarray(12))}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  // the longest run of two or more zero groups becomes '::' (RFC 5952)
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return text;
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

function unixPath(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}
