// Free loopback ports chosen at run time, and waiting for a port to accept connections.
import net from 'node:net';

export { freePort } from '../../src/util/free-port.js';

/**
 * A free port outside the kernel's ephemeral range (32768-60999 on Linux), for a server a test stops and
 * starts again on the same port: while it is down, no other test's `freePort()` (port 0, always ephemeral)
 * can be handed that port.
 */
export async function freeStablePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found in 20000-31999');
}

/** Resolves once a TCP connect to host:port succeeds; rejects after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${host}:${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
