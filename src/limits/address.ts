// The key per-address limits count under: an IPv4 address, or the /64 network of an IPv6 address (one
// IPv6 host usually holds a whole /64, so counting single addresses would not limit it at all).
import net from 'node:net';

/** Expands an IPv6 address to its eight 16-bit groups (no embedded IPv4 handling needed for a /64). */
function ipv6Groups(address: string): string[] {
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const zeros = address.includes('::') ? new Array(8 - left.length - right.length).fill('0') : [];
  return [...left, ...zeros, ...right];
}

export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (net.isIPv6(address)) {
    const groups = ipv6Groups(address.split('%', 1)[0]);
    return (
      groups
        .slice(0, 4)
        .map((g) => parseInt(g || '0', 16).toString(16))
        .join(':') + '::/64'
    );
  }
  return address;
}
