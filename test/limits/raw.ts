// Raw TCP and TLS peers for the hostile-client tests: they send exactly the bytes a test gives (drips,
// half-open handshakes, odd protocol versions) and report what the server answered and when it closed.
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';

export interface RawPeer {
  socket: net.Socket;
  /** everything the server sent so far */
  received(): string;
  /** resolves with what the server sent once it closed the connection */
  closed: Promise<string>;
}

function watch(socket: net.Socket): RawPeer {
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => undefined);
  // not events.once(socket, 'close'): that rejects on an 'error' first, and a reset is a way to be closed
  // (the server cutting a dripping body while the next byte is on its way gets ECONNRESET here)
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  return { socket, received: () => text, closed };
}

/** A TCP connection from `localAddress` (any 127.0.0.0/8 address works on Linux loopback). */
export async function rawConnect(port: number, localAddress = '127.0.0.1'): Promise<RawPeer> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  const peer = watch(socket);
  await Promise.race([once(socket, 'connect'), peer.closed]);
  return peer;
}

/** A completed TLS handshake with an optional client identity (PEM). */
export async function tlsConnect(
  port: number,
  opts: { ca: string; cert?: string; key?: string; localAddress?: string },
): Promise<RawPeer & { tls: tls.TLSSocket }> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ...opts });
  const peer = watch(socket);
  await Promise.race([once(socket, 'secureConnect'), peer.closed]);
  return { ...peer, tls: socket };
}

/** Resolves once `predicate` holds for what the peer received (or rejects when it closes first). */
export async function receivedMatching(peer: RawPeer, pattern: RegExp): Promise<string> {
  for (;;) {
    if (pattern.test(peer.received())) return peer.received();
    const next = await Promise.race([
      once(peer.socket, 'data').then(() => true),
      peer.closed.then(() => false),
    ]);
    if (!next && !pattern.test(peer.received()))
      throw new Error(`closed before ${pattern}: ${JSON.stringify(peer.received())}`);
  }
}
