// The balancers' networks a PROXY protocol header is believed from (`proxy_protocol.trusted`), as Node's
// BlockList (which compares addresses numerically, so "10.0.0.1" and "::ffff:10.0.0.1" are handled alike).
import net from 'node:net';

/** A BlockList of the trusted networks; throws on an entry that is not `address/prefix` or an address. */
export function trustedNetworks(cidrs: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [address, prefix, extra] = cidr.split('/');
    const family = net.isIP(address);
    if (family === 0 || extra !== undefined) throw new Error(`not a network: ${cidr}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = /^(0|[1-9][0-9]*)$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits <= (family === 4 ? 32 : 128))) throw new Error(`not a network: ${cidr}`);
    list.addSubnet(address, bits, type);
  }
  return list;
}

export function isTrusted(list: net.BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return list.check(mapped[1], 'ipv4');
  return list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** The 4 or 16 bytes of an IP address (IPv6 with `::` and an embedded IPv4 tail). */
function addressBytes(address: string): number[] {
  if (net.isIPv4(address)) return address.split('.').map(Number);
  const [head, tail = ''] = address.split('::');
  const groups = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (g.includes('.')) {
            const [a, b, c, d] = g.split('.').map(Number);
            return [(a << 8) | b, (c << 8) | d];
          }
          return [parseInt(g, 16)];
        });
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const words = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** True when every bit of `bytes` from bit `from` on is 0. */
function zeroFrom(bytes: number[], from: number): boolean {
  return bytes.every((b, i) => {
    const keep = Math.min(8, Math.max(0, from - i * 8));
    return (b & (0xff >> keep)) === 0;
  });
}

/**
 * Why a well-formed `trusted` entry is still refused, or undefined. Each believed header lets its sender choose
 * the address a connection is charged to (limits, quarantine, logs), so anything that trusts more than meant
 * fails closed: an address with host bits set under its prefix ("10.0.0.5/8", almost always a typo for /32),
 * and any network that trusts every IPv4 address (0.0.0.0/0, and IPv6 ranges covering ::ffff:0:0/96,
 * which Node's BlockList matches IPv4 peers against: "::/0", "::ffff:0:0/96").
 */
export function networkProblem(cidr: string): string | undefined {
  const [address, prefix] = cidr.split('/');
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const bytes = addressBytes(address);
  if (!zeroFrom(bytes, bits))
    return `has host bits set after /${bits}: write the network address, or /${bytes.length * 8} for one host`;
  if (bits === 0) return "trusts every address: list the balancers' own networks";
  const mappedSpace = addressBytes('::ffff:0:0');
  const coversAllIpv4 =
    bytes.length === 16 &&
    bits <= 96 &&
    mappedSpace.every((b, i) => {
      const keep = Math.min(8, Math.max(0, bits - i * 8));
      const mask = (0xff00 >> keep) & 0xff;
      return (b & mask) === (bytes[i] & mask);
    });
  if (coversAllIpv4)
    return "covers ::ffff:0:0/96, so it trusts every IPv4 address too: list the balancers' own networks";
  return undefined;
}
