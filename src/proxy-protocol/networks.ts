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
