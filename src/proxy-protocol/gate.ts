// Reads the PROXY protocol header (./header.ts) of every accepted connection before anything else sees the
// connection: the connection budget, TLS and HTTP all get it only once the header is read, with the client's
// own address recorded (src/util/client-address.ts). Rules, all failing closed:
// * a header is believed only from a peer in `trusted`; a header from anyone else is refused (it would let
//   any client choose the address it is charged to);
// * with `required`, a connection without a header is refused, and so is any connection from an untrusted
//   peer (it cannot send a believable one);
// * a malformed header, one longer than `maxHeaderBytes`, or one not complete within `headerTimeoutMs` is
//   refused; each connection has its own timer and buffer, so a slow or hostile one delays no other;
// * while it waits for its header a connection is charged to its TCP peer (`reserve`, the connection budget
//   of src/limits/connection-budget.ts): one peer, trusted or not, holds no more than
//   max_connections_per_address slots in that phase, and waiting connections count as open.
// Installed by wrapping the server's `emit` for 'connection': every 'connection' listener, whenever it was
// added (Node's own TLS and HTTP ones, src/limits/connection-budget.ts), then runs after the header.
import net from 'node:net';
import { Counter } from 'prom-client';
import { family } from '../metrics/index.js';
import { logger, peerText, RepeatLog } from '../util/index.js';
import { setClientAddress } from '../util/client-address.js';
import type { ProxyProtocolConfig } from '../config/index.js';
import { DEFAULT_MAX_HEADER_BYTES, parseProxyHeader, type ProxyHeader } from './header.js';
import { isTrusted, trustedNetworks } from './networks.js';

const log = logger('media_gateway::proxy_protocol');

/** The `reason` label of refused connections, documented in docs/errors.md (test/errors/documented.test.ts). */
export const PROXY_REFUSAL_REASONS = ['untrusted', 'missing', 'malformed', 'timeout', 'truncated'] as const;
export type ProxyRefusal = (typeof PROXY_REFUSAL_REASONS)[number];

export const proxyProtocolRefusedTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_proxy_protocol_refused_total',
    help: 'Connections refused by the PROXY protocol gate, by reason (untrusted|missing|malformed|timeout|truncated)',
    labelNames: ['reason'] as const,
    registers: [],
  }),
);

export interface ProxyGate {
  /** connections whose header is still awaited */
  pending(): number;
  /** Destroys the connections still waiting for their header (on shutdown). */
  dropPending(): void;
  close(): void;
}

interface RefusalFields {
  reason: ProxyRefusal;
  remote: string;
  detail: string;
}

/** Installs the gate on `server`; call before listen(). */
export function installProxyGate(
  server: net.Server,
  cfg: ProxyProtocolConfig,
  opts: {
    rejectionLogIntervalMs?: number;
    /** charges a waiting connection to its TCP peer; undefined when the peer is over its limit */
    reserve?: (socket: net.Socket) => (() => void) | undefined;
  } = {},
): ProxyGate {
  const trusted = trustedNetworks(cfg.trusted);
  const maxBytes = cfg.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const waiting = new Set<net.Socket>();
  const passed = new WeakSet<net.Socket>();
  const refusals = new RepeatLog<RefusalFields>({
    intervalMs: opts.rejectionLogIntervalMs ?? 60_000,
    maxKeys: 1024,
    first: (f) => log.warn(f, 'connection refused: PROXY protocol header'),
    repeated: (f, count) => log.warn({ ...f, count }, 'connections refused again: PROXY protocol header'),
    overflowed: (count) => log.warn({ count }, 'more connections refused by the PROXY protocol gate'),
  });
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;

  const refuse = (socket: net.Socket, reason: ProxyRefusal, detail: string) => {
    proxyProtocolRefusedTotal.inc({ reason });
    const remote = socket.remoteAddress ?? '';
    refusals.hit(`${reason}|${remote}`, { reason, remote, detail: peerText(detail, 200) });
    socket.destroy();
  };

  const pass = (socket: net.Socket, rest: Buffer, header?: ProxyHeader) => {
    const via = socket.remoteAddress ?? '';
    if (header?.command === 'proxy' && header.source)
      setClientAddress(socket, { address: header.source.address, port: header.source.port, via });
    // Paused with the remaining bytes back in its buffer: TLS (Node's initRead) or HTTP reads them first.
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    passed.add(socket);
    emit('connection', socket);
    // Node's HTTP server reads a plain socket through 'data' events; a TLS socket took the handle over.
    if (!socket.destroyed && socket.listenerCount('data') > 0) socket.resume();
  };

  const screen = (socket: net.Socket) => {
    // already reset by the peer (a balancer's connect-only check): nothing to judge or to log
    if (socket.remoteAddress === undefined) return void socket.destroy();
    const fromTrusted = isTrusted(trusted, socket.remoteAddress);
    if (!fromTrusted && cfg.required) return refuse(socket, 'untrusted', 'peer is not a trusted balancer');
    const release = opts.reserve ? opts.reserve(socket) : () => undefined;
    // over the per-address limit: counted by the budget (connections_refused_total{reason="per_address"})
    if (!release) return void socket.destroy();
    waiting.add(socket);
    let received = Buffer.alloc(0);
    const done = () => {
      // the slot passes to the client's address in the budget's own 'connection' listener (pass)
      release();
      clearTimeout(timer);
      waiting.delete(socket);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const timer = setTimeout(() => {
      done();
      refuse(socket, 'timeout', `no complete header within ${cfg.headerTimeoutMs} ms`);
    }, cfg.headerTimeoutMs);
    timer.unref();
    const onData = (chunk: Buffer) => {
      // only what the parser may still need is kept: bounded by maxBytes (v2) or 107 bytes (v1)
      received = Buffer.concat([received, chunk]);
      const r = parseProxyHeader(received, maxBytes);
      if (r.kind === 'incomplete') return;
      done();
      if (r.kind === 'invalid') return refuse(socket, 'malformed', r.reason);
      if (r.kind === 'none') {
        if (cfg.required) return refuse(socket, 'missing', 'the connection did not start with a header');
        return pass(socket, received);
      }
      if (!fromTrusted)
        return refuse(socket, 'untrusted', 'a header from a peer that is not a trusted balancer');
      pass(socket, received.subarray(r.length), r.header);
    };
    const onEnd = () => {
      done();
      refuse(
        socket,
        'truncated',
        `connection ended after ${received.length} bytes, before a complete header`,
      );
    };
    const onClose = () => {
      done();
    };
    // a reset while waiting: nothing to answer, and without a listener the error would be thrown
    const onError = () => socket.destroy();
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('end', onEnd);
    socket.once('close', onClose);
  };

  server.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'connection') return emit(event, ...args);
    const socket = args[0] as net.Socket;
    if (passed.has(socket)) return emit(event, ...args);
    screen(socket);
    return true;
  }) as typeof server.emit;

  return {
    pending: () => waiting.size,
    dropPending: () => {
      for (const socket of waiting) socket.destroy();
    },
    close: () => refusals.close(),
  };
}
