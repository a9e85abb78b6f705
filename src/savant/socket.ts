// Creating, attaching (bind/connect) and detaching the ZeroMQ sockets of Savant readers and writers,
// shared so that both apply the same ipc handling and options.
import { setTimeout as delay } from 'node:timers/promises';
import * as zmq from 'zeromq';
import {
  applyIpcPermissions,
  ipcPath,
  prepareIpcBind,
  probeUnixSocket,
  resolveIpcPermissions,
} from './ipc.js';
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

export interface AttachOptions {
  fixIpcPermissions?: number;
  /**
   * Overrides the URL's endpoint: a socket re-created after a failure binds the resolved address again,
   * e.g. the port chosen for `tcp://host:0`.
   */
  endpoint?: string;
  /** Keeps retrying a bind that fails with EADDRINUSE for that long: a closed predecessor releases its listener asynchronously. */
  addressInUseRetryMs?: number;
  /** The URL as configured, named in errors (defaults to the endpoint). */
  configuredUrl?: string;
}

/**
 * ipc endpoints bound by sockets of this process, and those whose socket was closed: libzmq releases a
 * listener asynchronously, so an endpoint we closed a moment ago still accepts connections and the
 * live-endpoint probe of ipc.ts would take our own predecessor for another process.
 */
const ownIpcBinds = new WeakMap<SavantSocket, string>();
const releasingIpc = new Set<string>();

/** How long a bind waits for our own closed listener on the same ipc path to stop accepting. */
const OWN_RELEASE_WAIT_MS = 2000;

/**
 * Binds or connects per the URL, with the ipc side effects of ./ipc.ts on bind.
 * Returns the bound address, undefined for connect.
 */
export async function attachSocket(
  sock: SavantSocket,
  url: SocketUrl,
  opts: AttachOptions = {},
): Promise<string | undefined> {
  const endpoint = opts.endpoint ?? url.endpoint;
  const mode = resolveIpcPermissions(url, opts.fixIpcPermissions);
  if (!url.bind) {
    sock.connect(endpoint);
    return undefined;
  }
  if (releasingIpc.has(endpoint)) {
    await waitForOwnRelease(endpoint, Math.max(opts.addressInUseRetryMs ?? 0, OWN_RELEASE_WAIT_MS));
  }
  await prepareIpcBind(endpoint, opts.configuredUrl ?? endpoint);
  const deadline = Date.now() + (opts.addressInUseRetryMs ?? 0);
  for (;;) {
    try {
      await sock.bind(endpoint);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || Date.now() >= deadline) throw err;
      await delay(BIND_RETRY_INTERVAL_MS);
    }
  }
  if (ipcPath(endpoint) !== undefined) ownIpcBinds.set(sock, endpoint);
  if (mode !== undefined) await applyIpcPermissions(endpoint, mode);
  return sock.lastEndpoint ?? endpoint;
}

/** Polls until the listener we closed on this ipc endpoint refuses connections (bounded by `ms`). */
async function waitForOwnRelease(endpoint: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await probeUnixSocket(ipcPath(endpoint)!)) === 'live' && Date.now() < deadline) {
    await delay(BIND_RETRY_INTERVAL_MS);
  }
  // still live after the wait: then it is not (only) ours, and prepareIpcBind refuses it
  releasingIpc.delete(endpoint);
}

const BIND_RETRY_INTERVAL_MS = 10;

/**
 * Closes the socket. Deliberately no zmq_unbind first: libzmq 4.3.5 aborts the whole process
 * (pipe.cpp:355 assertion) when an unbind races with a peer disconnecting, which happens whenever both
 * ends shut down together. Closing alone releases the endpoint asynchronously; whoever binds the same
 * endpoint again right away passes `addressInUseRetryMs` to attachSocket.
 */
export function detachSocket(sock: SavantSocket): void {
  if (sock.closed) return;
  const ipc = ownIpcBinds.get(sock);
  if (ipc !== undefined) releasingIpc.add(ipc);
  sock.close();
}

/** ZeroMQ reports send/receive timeouts (SNDTIMEO/RCVTIMEO) as EAGAIN. */
export function isTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EAGAIN';
}
