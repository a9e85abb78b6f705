// The connection budget of the main listener: a global limit (lowered to keep a file-descriptor reserve,
// ./fd.ts), a per-address limit, and the HTTP timeouts (header, whole request, keep-alive idle) with a
// check interval short enough to enforce them within a second. Excess connections are closed as soon as
// they are accepted, before any TLS or HTTP work is spent on them. Wraps an existing server rather than
// changing how it is built, so the plain-HTTP and the TLS listener share it. Behind a balancer speaking the
// PROXY protocol (src/proxy-protocol/gate.ts) the per-address limit counts the client's address.
import type net from 'node:net';
import type http from 'node:http';
import type { ServerLimits } from '../config/index.js';
import { logger } from '../util/index.js';
import { clientAddress } from '../util/client-address.js';
import { addressKey } from './address.js';
import { effectiveConnectionLimit } from './fd.js';
import {
  connectionLimit,
  connectionsRefusedTotal,
  connectionTimeoutsTotal,
  openConnections,
} from './metrics.js';

const log = logger('media_gateway::limits');

/** How often Node checks header and request timeouts (its default, 30 s, would let them run 30 s late). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** Options every listener must be created with: Node reads the check interval only in the constructor. */
export function httpServerOptions(limits: ServerLimits): http.ServerOptions {
  return {
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
  };
}

export interface ConnectionBudget {
  /** the global limit in force */
  readonly limit: number;
  /** open connections per address key right now */
  perAddress(): ReadonlyMap<string, number>;
  /**
   * Destroys the connections whose TLS handshake has not completed: on shutdown they hold no request,
   * and Node's closeAllConnections() does not know them (it tracks HTTP connections only).
   */
  dropHandshaking(): void;
  /**
   * Charges a connection still waiting for its PROXY protocol header (src/proxy-protocol/gate.ts) to its
   * TCP peer, so that one peer holds no more than max_connections_per_address slots in that phase either.
   * Returns the release to call when the header phase ends, or undefined when the peer is over its limit
   * (the caller refuses the connection).
   */
  reservePending(socket: net.Socket): (() => void) | undefined;
}

/** Installs the budget on `server`; call before listen(). */
export function applyConnectionBudget(
  server: net.Server,
  limits: ServerLimits,
  tls: boolean,
): ConnectionBudget {
  const limit = effectiveConnectionLimit(limits.maxConnections, limits.fdReserve);
  if (limit < limits.maxConnections)
    log.warn(
      `limits.max_connections lowered from ${limits.maxConnections} to ${limit} to keep ${limits.fdReserve} file descriptors in reserve (raise ulimit -n to allow more)`,
    );
  server.maxConnections = limit;
  connectionLimit.set(limit);
  const byAddress = new Map<string, number>();
  const handshaking = new Set<net.Socket>();
  let open = 0;
  if (tls) {
    // a TLSSocket keeps the TCP socket it wraps as `_parent` (Node's _tls_wrap.js)
    server.on('secureConnection', (socket: { _parent?: net.Socket }) => {
      if (socket._parent) handshaking.delete(socket._parent);
    });
  }

  // Node closes connections over maxConnections itself, before any 'connection' event.
  server.on('drop', () => connectionsRefusedTotal.inc({ reason: 'global' }));
  /** Takes one slot of `key`; returns its release (idempotent), or undefined when `key` is full. */
  const take = (key: string): (() => void) | undefined => {
    const n = (byAddress.get(key) ?? 0) + 1;
    if (n > limits.maxConnectionsPerAddress) {
      connectionsRefusedTotal.inc({ reason: 'per_address' });
      return undefined;
    }
    byAddress.set(key, n);
    openConnections.set(++open);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      openConnections.set(--open);
      const left = (byAddress.get(key) ?? 1) - 1;
      if (left > 0) byAddress.set(key, left);
      else byAddress.delete(key);
    };
  };

  // Runs before the TLS or HTTP layer sees the socket, so a refused connection costs no handshake.
  server.prependListener('connection', (socket: net.Socket) => {
    const release = take(addressKey(clientAddress(socket) || undefined));
    if (!release) return void socket.destroy();
    if (tls) handshaking.add(socket);
    socket.once('close', () => {
      handshaking.delete(socket);
      release();
    });
  });
  return {
    limit,
    perAddress: () => byAddress,
    reservePending: (socket) => {
      const release = take(addressKey(socket.remoteAddress));
      if (release) socket.once('close', release);
      return release;
    },
    dropHandshaking: () => {
      for (const socket of handshaking) socket.destroy();
    },
  };
}

/** The longest first line we wait for before leaving the decision to Node's parser (and its limits). */
const MAX_SNIFFED_LINE = 8 * 1024;
const HTTP1_REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.\d\r?$/;

/**
 * Closes a connection at once when its first line is not an HTTP/1.x request line (HTTP/0.9, an HTTP/2
 * preface, another protocol). Node's parser would wait for more bytes until header_timeout. Registered
 * after Node's own listener: adding a 'data' listener then makes Node feed its parser from 'data' events
 * too (see `generateSocketListenerWrapper` in Node's _http_server.js), so both see every chunk; ours is
 * removed after the first line.
 */
export function closeNonHttp1(server: http.Server, event: 'connection' | 'secureConnection'): void {
  server.on(event, (socket: net.Socket) => {
    let head = '';
    const sniff = (chunk: Buffer) => {
      head += chunk.toString('latin1', 0, Math.min(chunk.length, MAX_SNIFFED_LINE));
      const firstLine = head.replace(/^(\r?\n)+/, '');
      const end = firstLine.indexOf('\n');
      if (end < 0 && head.length < MAX_SNIFFED_LINE) return;
      socket.off('data', sniff);
      if (end >= 0 && !HTTP1_REQUEST_LINE.test(firstLine.slice(0, end))) {
        connectionsRefusedTotal.inc({ reason: 'not_http1' });
        socket.destroy();
      }
    };
    socket.on('data', sniff);
  });
}

/** Node's own answers to client errors, counted: timeouts (408) and malformed requests (400, 431). */
export function answerClientErrors(server: http.Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timeout) connectionTimeoutsTotal.inc({ phase: 'request' });
    else if (err.code === 'HPE_HEADER_OVERFLOW') connectionsRefusedTotal.inc({ reason: 'header_overflow' });
    else connectionsRefusedTotal.inc({ reason: 'not_http1' });
    const status = timeout
      ? '408 Request Timeout'
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
    // A response already under way cannot be followed by another one: just cut the connection.
    if (socket.writable && !(socket as { _httpMessage?: unknown })._httpMessage) {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroySoon?.();
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
  });
}
