// A completed mTLS handshake as the attacker, returning the socket for raw writes (or undefined when the
// server refused the connection).
import net from 'node:net';
import tls from 'node:tls';

/** The TCP socket under a TLS one: its errors also reach the TLS socket, where they are handled. */
const quiet = (s: net.Socket) => s.on('error', () => undefined);
import { once } from 'node:events';
import type { Lab } from './harness.js';

export async function tlsConnectRaw(
  port: number,
  lab: Lab,
  localAddress: string,
): Promise<tls.TLSSocket | undefined> {
  const s = tls.connect({
    socket: quiet(net.connect({ port, host: '127.0.0.1', localAddress })),
    servername: 'localhost',
    ca: lab.caPem,
    cert: lab.attacker.cert,
    key: lab.attacker.key,
  });
  s.on('error', () => undefined);
  const ok = await Promise.race([
    once(s, 'secureConnect').then(() => true),
    once(s, 'close').then(() => false),
  ]);
  return ok ? s : undefined;
}
