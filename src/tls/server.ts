// The HTTPS listener of the gateway server: server identity, and, with client authentication, the
// live hash-directory trust store (src/trust/store.ts) wired into Node's TLS:
// * every trust reload swaps the server's SecureContext: the store publishes the snapshot and the
//   context built from it as one state (src/trust/store.ts), and the server takes that state's options
//   in the same tick (`ca` never omitted, so Node's public roots are never used; no ticketKeys, so
//   pre-reload session tickets die with it). Node has no public API to install a built SecureContext
//   on a server, so setSecureContext builds it again from the options the store validated;
// * clients failing OpenSSL's verification are destroyed synchronously in 'secureConnection'
//   (rejectUnauthorized: false only so that the reason can be logged and counted);
// * open connections are re-checked in JS (src/trust/verify.ts) on every reload and at CRL /
//   certificate expiry instants, and closed when they no longer pass: revocation reaches them;
// * every new connection, resumed or not, is also checked in JS against the snapshot current when
//   its handshake completes: a handshake that started before a reload ran under the previous
//   context, so OpenSSL's verdict may predate a revocation (and resumed sessions skip verification);
// * each request re-checks its connection when the snapshot changed since the last check, so no
//   window between a reload and the re-check of open connections lets a request through;
// * a refused client is told why over HTTP, since Node sends no TLS alert (./refusal-answer.ts): a
//   connection refused at its handshake lives at most REFUSAL_GRACE_MS to answer its first request, and
//   never reaches the request handler; an open connection refused by a reload answers the request it has
//   in flight (whose body is no longer read) and is closed at once when it has none;
// * repeated identical rejections (same certificate, same reason) are logged once per interval with a
//   count (../util/repeat-log.ts), so a retrying client cannot flood the log.
import https from 'node:https';
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { ServerTlsConfig } from '../config/index.js';
import type { PeerIdentity } from './identity.js';
import { logger, RepeatLog, peerText } from '../util/index.js';
import { tlsRejectionsTotal, liveConnectionsClosedTotal } from '../metrics/index.js';
import { connectionTimeoutsTotal } from '../limits/index.js';
import { loadIdentityFiles } from './identity-files.js';
import { peerIdentity } from './peer.js';
import {
  TrustStore,
  ReloadScheduler,
  verifyPeerChain,
  reasonFromAuthorizationError,
  type RejectReason,
} from '../trust/index.js';
import { observeTrust } from '../trust/observe.js';
import { trustHealth } from '../trust/health.js';
import { MAX_TIMER_MS } from '../util/timers.js';
import { closeServer } from '../util/listen.js';
import { clientAddress, clientAddressFields } from '../util/client-address.js';
import { answerRefusal, cutAfterGrace } from './refusal-answer.js';

const log = logger('media_gateway::tls');
const MIN_VERSION = 'TLSv1.2';

export interface SecureListenerOptions {
  /** Node HTTPS server options (timeouts, header limits: src/limits/connection-budget.ts) */
  server?: https.ServerOptions;
  /** repeated identical rejections are logged once per this interval, with a count (default 60 s) */
  rejectionLogIntervalMs?: number;
  /** at most this many certificate+reason pairs are tracked for that (default 1024) */
  rejectionLogMaxKeys?: number;
  /** told of every refused client certificate (at the handshake or on a live connection), e.g. for tracing */
  onRefused?(reason: RejectReason, remote: string | undefined): void;
}

interface RejectionFields {
  subject: string;
  serial: string;
  issuer: string;
  reason: RejectReason;
  detail: string;
  remote: string;
  /** the balancer that relayed the connection (PROXY protocol), when one did */
  via?: string;
}

export interface SecureListener {
  server: https.Server;
  check(
    req: http.IncomingMessage,
  ): { ok: true; identity?: PeerIdentity } | { ok: false; status: 401; reason: string };
  health(): { healthy: boolean; reasons: string[] };
  close(): Promise<void>;
  /** the live trust store (present with client authentication): 'reload' events, current() */
  trust?: TrustStore;
  /** what triggers its reloads: 'tick' at CRL validity instants, 'poll' */
  reloads?: ReloadScheduler;
}

interface Peer {
  socket: TLSSocket;
  leafDer: Buffer;
  identity: PeerIdentity;
  /** set once the connection stopped passing verification */
  refused?: RejectReason;
  /** digest of the snapshot the connection was last verified against */
  checkedDigest?: string;
  expiryTimer?: NodeJS.Timeout;
  /** the request being answered on this connection, if any */
  inFlight?: { req: http.IncomingMessage; res: http.ServerResponse };
}

/** `serverOptions`: HTTP timeouts and the TLS handshake timeout (src/limits/connection-budget.ts). */
export async function createSecureListener(
  cfg: ServerTlsConfig,
  handler: http.RequestListener,
  opts: SecureListenerOptions = {},
): Promise<SecureListener> {
  const serverOptions = opts.server ?? {};
  const identity = await loadIdentityFiles(cfg.certificate, cfg.key);
  const base = { cert: identity.cert, key: identity.key, minVersion: MIN_VERSION } as const;

  if (!cfg.clientAuth) {
    const server = https.createServer({ ...serverOptions, ...base }, handler);
    countHandshakeTimeouts(server);
    return {
      server,
      check: () => ({ ok: true }),
      health: () => ({ healthy: true, reasons: [] }),
      close: () => closeServer(server),
    };
  }

  const auth = cfg.clientAuth;
  const store = await TrustStore.open(auth, { contextBase: base });
  const reloads = new ReloadScheduler(store);
  observeTrust(store, reloads);
  const peers = new Map<TLSSocket, Peer>();
  /** connections refused at their handshake, kept only to answer why (see the module comment) */
  const refusedAtHandshake = new WeakMap<TLSSocket, RejectReason>();

  const guarded: http.RequestListener = (req, res) => {
    const socket = req.socket as TLSSocket;
    const p = peers.get(socket);
    const refused = refusedAtHandshake.get(socket) ?? p?.refused;
    if (refused) {
      req.pause();
      if (!answerRefusal(res, refused)) socket.destroy();
      return;
    }
    if (p) {
      const current = { req, res };
      p.inFlight = current;
      res.once('close', () => {
        if (p.inFlight === current) p.inFlight = undefined;
      });
    }
    handler(req, res);
  };
  const server = https.createServer(
    { ...serverOptions, ...store.current().contextOptions, requestCert: true, rejectUnauthorized: false },
    guarded,
  );
  countHandshakeTimeouts(server);

  const rejectionLog = new RepeatLog<RejectionFields>({
    intervalMs: opts.rejectionLogIntervalMs ?? 60_000,
    maxKeys: opts.rejectionLogMaxKeys ?? 1024,
    first: (f) => log.warn(f, 'client certificate rejected'),
    repeated: (f, count) =>
      log.warn(
        { ...f, count, intervalMs: opts.rejectionLogIntervalMs ?? 60_000 },
        'client certificate rejected again',
      ),
    overflowed: (count) =>
      log.warn({ count }, 'more client certificates rejected, from identities beyond the tracked ones'),
  });

  const refuse = (
    socket: TLSSocket,
    reason: RejectReason,
    detail: string,
    who?: PeerIdentity,
    live?: Peer,
  ) => {
    tlsRejectionsTotal.inc({ reason });
    opts.onRefused?.(reason, clientAddress(socket));
    // Certificate names are chosen by the peer: escaped before they reach a log line.
    const fields: RejectionFields = {
      subject: peerText(who?.subject ?? 'none'),
      serial: peerText(who?.serial ?? 'none'),
      issuer: peerText(who?.issuer ?? 'none'),
      reason,
      detail: peerText(detail, 512),
      ...clientAddressFields(socket),
    };
    if (!live) {
      rejectionLog.hit(`${who?.fingerprint256 ?? `none@${fields.remote}`}|${reason}`, fields);
      refusedAtHandshake.set(socket, reason);
      cutAfterGrace(socket);
      return;
    }
    liveConnectionsClosedTotal.inc({ reason });
    log.warn(fields, 'open connection closed: client certificate no longer accepted');
    const pending = live.inFlight;
    if (pending) {
      // Its body is no longer read, so a request cut by the reload is never forwarded after it.
      pending.req.pause();
      if (answerRefusal(pending.res, reason)) return;
    }
    socket.destroy();
  };

  /** `live`: the connection was already serving requests (counted and logged as a live close). */
  const recheck = (p: Peer, why: string, live = true): void => {
    if (p.refused || p.socket.destroyed) return;
    const snap = store.current().snapshot;
    p.checkedDigest = snap.digest;
    const v = verifyPeerChain(p.leafDer, snap, { crlEnabled: auth.crlEnabled });
    if (v.ok) return;
    p.refused = v.reason;
    refuse(p.socket, v.reason, `${v.detail} (${why})`, p.identity, live ? p : undefined);
  };
  const recheckAll = (why: string) => {
    for (const p of peers.values()) recheck(p, why);
  };

  const armExpiry = (p: Peer, leaf: X509Certificate) => {
    const ms = new Date(leaf.validTo).getTime() - Date.now() + 5;
    if (ms > MAX_TIMER_MS) return;
    p.expiryTimer = setTimeout(() => recheck(p, 'certificate expiry'), Math.max(0, ms));
    p.expiryTimer.unref();
  };

  server.on('secureConnection', (socket: TLSSocket) => {
    const leaf = socket.getPeerX509Certificate();
    const who = leaf ? peerIdentity(leaf) : undefined;
    // A resumed TLS 1.3 session of a connection that sent no certificate reports `authorized` with no peer
    // certificate at all: without a leaf nothing is authorized, whatever OpenSSL's flag says.
    if (!socket.authorized || !leaf) {
      let reason: RejectReason;
      let detail = String(socket.authorizationError ?? 'not authorized');
      if (!leaf) {
        reason = 'no_certificate';
        detail = 'the client sent no certificate';
      } else {
        // Node reports only OpenSSL's last error; the JS check usually names the first problem
        const v = verifyPeerChain(leaf.raw, store.current().snapshot, { crlEnabled: auth.crlEnabled });
        reason = v.ok ? reasonFromAuthorizationError(detail) : v.reason;
        if (!v.ok) detail = `${detail}: ${v.detail}`;
      }
      refuse(socket, reason, detail, who);
      return;
    }
    const p: Peer = { socket, leafDer: leaf.raw, identity: who! };
    recheck(p, socket.isSessionReused() ? 'resumed session' : 'new connection', false);
    if (p.refused) return;
    peers.set(socket, p);
    armExpiry(p, leaf);
    socket.once('close', () => {
      if (p.expiryTimer) clearTimeout(p.expiryTimer);
      peers.delete(socket);
    });
  });
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    log.debug({ err: err.message, ...clientAddressFields(socket) }, 'TLS handshake failed');
  });

  store.on('reload', (state) => {
    // Connections first: Node builds the context again from the options (tens of ms of the event loop
    // under load), and a revoked client must not keep sending meanwhile. The store published `state`
    // before this event, so the recheck already judges against it. The options were validated by
    // building state.secureContext, so setSecureContext cannot fail short of memory exhaustion.
    recheckAll('trust store reload');
    try {
      server.setSecureContext(state.contextOptions);
    } catch (e) {
      log.error({ error: (e as Error).message }, 'the new trust state cannot be used by TLS');
    }
  });
  reloads.on('tick', () => recheckAll('CRL validity changed'));

  return {
    server,
    trust: store,
    reloads,
    check(req) {
      const socket = req.socket as TLSSocket;
      const p = peers.get(socket);
      if (!p) {
        if (!socket.authorized) return { ok: false, status: 401, reason: 'client certificate not accepted' };
        return { ok: false, status: 401, reason: 'connection not tracked' };
      }
      if (!p.refused && p.checkedDigest !== store.current().snapshot.digest)
        recheck(p, 'trust snapshot changed');
      if (p.refused) return { ok: false, status: 401, reason: p.refused };
      return { ok: true, identity: p.identity };
    },
    health: () => trustHealth(store),
    async close() {
      reloads.close();
      store.close();
      rejectionLog.close();
      for (const p of peers.values()) if (p.expiryTimer) clearTimeout(p.expiryTimer);
      await closeServer(server);
    },
  };
}

/** Node cuts handshakes that outlive `handshakeTimeout` and reports them as a client error. */
function countHandshakeTimeouts(server: https.Server): void {
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') connectionTimeoutsTotal.inc({ phase: 'handshake' });
  });
}
