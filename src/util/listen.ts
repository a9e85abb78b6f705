// The one way this project opens and closes a listening socket, for the gateway server, its TLS
// listener and the operations listeners: listen (rejecting on EADDRINUSE and the like instead of an
// 'error' event nobody hears), drain (stop accepting, let requests in flight finish for a bounded time,
// then cut what is left), and the URL host form of an address (IPv6 in brackets).
import type { Server } from 'node:net';
import type http from 'node:http';

/** Listens on ip:port (port 0: any free port); resolves with the bound port. */
export async function listen(server: Server, port: number, ip: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

export interface DrainOptions {
  /** open connections still busy after this long are cut (default: cut at once) */
  drainMs?: number;
  /** runs right after the server stopped accepting (e.g. to drop connections still in their handshake) */
  afterStop?: () => void;
}

/**
 * Stops accepting, closes idle keep-alive connections, and resolves once every connection is gone:
 * busy ones may finish their request for `drainMs`, then they are cut. A server not listening resolves at once.
 */
export function closeServer(server: http.Server, opts: DrainOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = opts.drainMs ? setTimeout(() => server.closeAllConnections(), opts.drainMs) : undefined;
    force?.unref();
    server.close(() => {
      if (force) clearTimeout(force);
      resolve();
    });
    if (force) server.closeIdleConnections();
    else server.closeAllConnections();
    opts.afterStop?.();
  });
}

/** `ip` as the host part of a URL: IPv6 addresses in brackets. */
export function urlHost(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}
