// Creating, attaching (bind/connect) and detaching the ZeroMQ sockets of Savant readers and writers,
// shared so that both apply the same ipc handling and options.
import { setTimeout as delay } from 'node:timers/promises';
import * as zmq from 'zeromq';
import { applyIpcPermissions, prepareIpcBind, resolveIpcPermissions } from './ipc.js';
import type { SocketType, SocketUrl } from './url.js';

export type SavantSocket = zmq.Publisher | zmq.Subscriber | zmq.Request | zmq.Reply | zmq.Dealer | zmq.Router;

/** LINGER of every Savant socket (savant_core sets 100 ms). */
export const LINGER_MS = 100;

export interface SocketOptions {
  sendHighWaterMark?: number;
  receiveHighWaterMark?: number;
  sendTimeout?: number;
  receiveTimeout?: number;
}

export function createSocket(type: SocketType, opts: SocketOptions): SavantSocket {
  const o = { linger: LINGER_MS, ...opts };
  switch (type) {
    case 'pub':
      return new zmq.Publisher(o);
    case 'sub':
      return new zmq.Subscriber(o);
    case 'req':
      return new zmq.Request(o);
    case 'rep':
      return new zmq.Reply(o);
    case 'dealer':
      return new zmq.Dealer(o);
    case 'router':
      return new zmq.Router(o);
  }
}

/**
 * Binds or connects per the URL, with the ipc side effects of savant-wire.md §1.4 on bind.
 * `endpoint` overrides the URL's endpoint (a socket re-created after a failure binds the resolved address
 * again, e.g. the port chosen for `tcp://host:0`). `addressInUseRetryMs` keeps retrying a bind that fails
 * with EADDRINUSE for that long: a closed predecessor releases its listener asynchronously.
 * Returns the bound address, undefined for connect.
 */
export async function attachSocket(
  sock: SavantSocket,
  url: SocketUrl,
  fixIpcPermissions?: number,
  endpoint = url.endpoint,
  addressInUseRetryMs = 0,
): Promise<string | undefined> {
  const mode = resolveIpcPermissions(url, fixIpcPermissions);
  if (!url.bind) {
    sock.connect(endpoint);
    return undefined;
  }
  await prepareIpcBind(endpoint);
  const deadline = Date.now() + addressInUseRetryMs;
  for (;;) {
    try {
      await sock.bind(endpoint);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || Date.now() >= deadline) throw err;
      await delay(BIND_RETRY_INTERVAL_MS);
    }
  }
  if (mode !== undefined) await applyIpcPermissions(endpoint, mode);
  return sock.lastEndpoint ?? endpoint;
}

const BIND_RETRY_INTERVAL_MS = 10;

/**
 * Closes the socket. Deliberately no zmq_unbind first: libzmq 4.3.5 aborts the whole process
 * (pipe.cpp:355 assertion) when an unbind races with a peer disconnecting, which happens whenever both
 * ends shut down together. Closing alone releases the endpoint asynchronously; whoever binds the same
 * endpoint again right away passes `addressInUseRetryMs` to attachSocket.
 */
export function detachSocket(sock: SavantSocket): void {
  if (!sock.closed) sock.close();
}

/** ZeroMQ reports send/receive timeouts (SNDTIMEO/RCVTIMEO) as EAGAIN. */
export function isTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EAGAIN';
}
