// The address a connection is charged to: the client's own address as a trusted PROXY protocol header named
// it (src/proxy-protocol/gate.ts), otherwise the TCP peer. Every place that logs, limits or quarantines by
// address asks here, so a fleet behind a TCP balancer keeps one key per client, not one for the balancer.
import type net from 'node:net';

export interface ClientAddress {
  address: string;
  port?: number;
  /** the TCP peer that sent the header (the balancer), when the address came from a header */
  via?: string;
}

const named = new WeakMap<net.Socket, ClientAddress>();

export function setClientAddress(socket: net.Socket, address: ClientAddress): void {
  named.set(socket, address);
}

/** A TLSSocket keeps the TCP socket it wraps as `_parent` (Node's _tls_wrap.js): the header was read on that one. */
function namedFor(socket: net.Socket): ClientAddress | undefined {
  return named.get(socket) ?? named.get((socket as { _parent?: net.Socket })._parent as net.Socket);
}

/** The client's address for logs, limits and the quarantine key ('' when the socket is already gone). */
export function clientAddress(socket: net.Socket): string {
  return namedFor(socket)?.address ?? socket.remoteAddress ?? '';
}

/** For log lines: the client's address and, when a balancer relayed it, the balancer's. */
export function clientAddressFields(socket: net.Socket): { remote: string; via?: string } {
  const n = namedFor(socket);
  return n ? { remote: n.address, via: n.via } : { remote: socket.remoteAddress ?? '' };
}
