// The gateway server (cloud half): HTTP(S) in, Savant ZeroMQ out. Routes: POST / (the original's one
// Media per request), POST /batch (our extension: a MediaBatch, items in order, stop at the first
// failure), GET /health and GET /metrics. Unlike the original there is no global lock: requests on
// different connections run concurrently, and the writer's FIFO queue keeps each sender's order.
import { ConfigError, type ServerConfig, type ServerLimits, DEFAULT_SERVER_LIMITS } from '../config/index.js';
import http from 'node:http';
import { SavantWriter } from '../savant/index.js';
import { batchBudget, decodeMediaBatch, mediaBudget } from '../savant/media.js';
import { FieldScanner, type FieldBudget } from '../savant/field-scan.js';
import { MessageDecodeError, messageBudget } from '../savant/message.js';
import type { Authenticator } from '../auth/index.js';
import type { SecureListener } from '../tls/index.js';
import { FpsStatistics } from '../stats/index.js';
import { aggregateHealth, writeHealth, type HealthReport } from '../health/index.js';
import { metricsHandler, httpResponsesTotal, requestDuration } from '../metrics/index.js';
import { exportHalfFamilies, serverFamilies, startOpsListener, type OpsListener } from '../ops/index.js';
import { serverNotLive, serverNotReady } from '../ops/server-probes.js';
import { logger } from '../util/index.js';
import { CleanupStack } from '../util/cleanup-stack.js';
import { BATCH_ENDPOINT, formatBatchReply, STATUS } from '../contract/http.js';
import { closeServer as closeHttpServer, listen, urlHost } from '../util/listen.js';
import { lowerHelperThreads } from '../util/thread-priority.js';
import { MESSAGE_IDS_HEADER, parseMessageIds } from '../spool/index.js';
import { DuplicateFilter } from './duplicates.js';
import { forwardMedia, refusalOf, type ForwardContext, type Grant } from './forward.js';
import { declaredLength, isProtobufContentType, readBodyInto, reply, type BodyResult } from './http-io.js';
import { batchItems, bodyBuffer, ItemRefused, type BatchBody, type BodySink } from './body-sinks.js';
import { StreamSession, streamRefusalsTotal, type StreamRefusalCode } from './stream.js';
import { STREAM_ENDPOINT, STREAM_PROTOCOL } from '../contract/stream.js';
import type { Duplex } from 'node:stream';
import {
  answerClientErrors,
  applyConnectionBudget,
  closeNonHttp1,
  httpServerOptions,
  connectionTimeoutsTotal,
} from '../limits/index.js';
import { installProxyGate } from '../proxy-protocol/index.js';
import type { ServerTracing } from '../telemetry/index.js';
import { clientAddress } from '../util/client-address.js';

const log = logger('media_gateway::server');

export interface RunningServer {
  port: number;
  url: string;
  health(): HealthReport;
  /** the operations listener (`ops` in the configuration), when there is one */
  ops?: OpsListener;
  close(): Promise<void>;
}

/** How long close() lets in-flight requests finish before cutting their connections. */
const CLOSE_DRAIN_MS = 10_000;

type Refusal = {
  status: number;
  challenge?: boolean;
  close?: boolean;
  retryAfterSeconds?: number;
  /** which check refused, for tracing */
  check: 'tls_peer' | 'basic_auth' | 'certificate_identity';
  reason: string;
};

/** `Expect: 100-continue`: Node leaves the 100 to us (checkContinue), sent once the request passed every check. */
function continueIfExpected(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
}

/** Most items a message-ids header may name (more: the header is ignored, nothing is deduplicated). */
const MAX_NAMED_ITEMS = 65536;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;
type Route = { methods: string[]; run: Handler };

/**
 * What the request stages share. A request passes through named stages in order, as through fastify's
 * request hooks: `route` (method and path), then for a POST `admit` (declared size, `authenticate`,
 * Content-Type, body), then the handler that forwards (`postSingle`, `postBatch`).
 */
interface Gateway {
  cfg: ServerConfig;
  limits: Readonly<ServerLimits>;
  forward: ForwardContext;
  authenticator?: Authenticator;
  tracing?: ServerTracing;
  /** set once the TLS listener exists; the handler is built before it */
  listener?: SecureListener;
  duplicates: DuplicateFilter;
  closing: boolean;
  /** the open upgraded streams (./stream.ts), ended on close: the HTTP server does not track them */
  streams: Set<StreamSession>;
}

/**
 * Stage `authenticate` (run by `admit`): TLS peer check, then Basic, then certificate identity; every
 * configured method must pass.
 */
async function authenticate(gw: Gateway, req: http.IncomingMessage): Promise<Grant[] | Refusal> {
  const { cfg, authenticator } = gw;
  const peer = gw.listener?.check(req);
  if (peer && !peer.ok) return { status: peer.status, close: true, check: 'tls_peer', reason: peer.reason };
  const grants: Grant[] = [];
  if (cfg.auth?.basic) {
    const d = await authenticator!.authenticateBasic(req.headers.authorization, clientAddress(req.socket));
    if (!d.ok)
      return {
        status: d.status,
        challenge: d.challenge,
        retryAfterSeconds: d.retryAfterSeconds,
        check: 'basic_auth',
        reason: `HTTP ${d.status}`,
      };
    grants.push(d);
  }
  if (cfg.auth?.certificateIdentity) {
    const identity = peer?.ok ? peer.identity : undefined;
    if (!identity)
      return {
        status: STATUS.refused,
        check: 'certificate_identity',
        reason: 'no verified client certificate',
      };
    const d = await authenticator!.authenticateCertificate(identity);
    if (!d.ok) return { status: d.status, check: 'certificate_identity', reason: `HTTP ${d.status}` };
    grants.push(d);
  }
  return grants;
}

/** Answers a refused request: traced, with the challenge and Retry-After the refusal asks for. */
function answerRefusal(
  gw: Gateway,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  refusal: Refusal,
): void {
  traceRefusal(gw, req, refusal);
  reply(req, res, refusal.status, { headers: refusalHeaders(refusal), close: refusal.close });
}

/** A refused request or stream batch as a rejection span (rate-limited by the tracer). */
function traceRefusal(gw: Gateway, req: http.IncomingMessage, refusal: Refusal): void {
  gw.tracing?.rejected({
    kind: refusal.check,
    reason: refusal.reason,
    status: refusal.status,
    address: clientAddress(req.socket),
  });
}

/** The challenge and Retry-After a refusal asks for, as response headers. */
function refusalHeaders(refusal: Refusal): Record<string, string> {
  const headers: Record<string, string> = {};
  if (refusal.challenge) headers['WWW-Authenticate'] = 'Basic';
  if (refusal.retryAfterSeconds !== undefined) headers['Retry-After'] = String(refusal.retryAfterSeconds);
  return headers;
}

/**
 * Reads the body of an admitted request, its own fields counted as they arrive: a crafted body is refused
 * after its first bytes. Resolves to the body or undefined (answered).
 */
async function readAdmittedBody<T>(
  gw: Gateway,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Body<T>,
): Promise<T | undefined> {
  const { what } = body;
  const scanner = new FieldScanner(what, body.budget);
  const read = await readBodyInto(req, body.sink, {
    limit: gw.cfg.maxBodySize,
    progressTimeoutMs: gw.limits.bodyProgressTimeoutMs,
    inspect: (c) => scanner.push(c),
    minBytesPerSecond: gw.limits.minBodyRate,
  });
  if (read.kind === 'refused' && read.error instanceof MessageDecodeError && body.traced) {
    // refused while it arrived, so forwardMedia never saw it: its trace still gets the server span
    const status = refusalOf(read.error, what);
    gw.tracing
      ?.items(
        req.headers,
        1,
        'single',
      )(0)
      ?.refused({
        status,
        code: status === STATUS.tooLarge ? 'decode_limit' : 'malformed',
        description: `malformed ${what}: ${read.error.message}`,
      });
    reply(req, res, status, { close: true });
    return undefined;
  }
  return answerBodyFailure(req, res, read, what, body.rescue);
}

/** The body, or undefined once the failure to read it is answered (or the connection cut). */
function answerBodyFailure<T>(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: BodyResult<T>,
  what: string,
  rescue?: (error: unknown) => T | undefined,
): T | undefined {
  if (body.kind === 'refused') {
    const rescued = rescue?.(body.error);
    if (rescued !== undefined) return rescued;
    if (!(body.error instanceof MessageDecodeError)) throw body.error;
    reply(req, res, refusalOf(body.error, what), { close: true });
    return undefined;
  }
  if (body.kind === 'too_large') {
    reply(req, res, STATUS.tooLarge, { close: true });
    return undefined;
  }
  if (body.kind === 'stalled') connectionTimeoutsTotal.inc({ phase: 'body_progress' });
  if (body.kind === 'too_slow') connectionTimeoutsTotal.inc({ phase: 'body_rate' });
  if (body.kind === 'aborted' || body.kind === 'stalled' || body.kind === 'too_slow') {
    res.destroy();
    return undefined;
  }
  return body.body;
}

/** What a route reads: the body's field budget (counted as it arrives), its name, and where its bytes go. */
interface Body<T> {
  budget: FieldBudget;
  what: string;
  sink: (declared: number | undefined) => BodySink<T>;
  /** a refusal while reading gets the item's server span (POST /: the request is the item) */
  traced?: boolean;
  /** what a refusal while reading still gives the handler (a batch: the items before a refused one) */
  rescue?: (error: unknown) => T | undefined;
}

/**
 * Stage `admit` (both POST routes): declared size, authenticate, Content-Type, then (only now)
 * `100 Continue` and the body. Resolves to the body or undefined (answered).
 */
async function admit<T>(
  gw: Gateway,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Body<T>,
): Promise<{ body: T; grants: Grant[] } | undefined> {
  if ((declaredLength(req) ?? 0) > gw.cfg.maxBodySize) {
    reply(req, res, STATUS.tooLarge, { close: true });
    return undefined;
  }
  const auth = await authenticate(gw, req);
  if (!Array.isArray(auth)) {
    answerRefusal(gw, req, res, auth);
    return undefined;
  }
  if (!isProtobufContentType(req.headers['content-type'])) {
    reply(req, res, STATUS.malformed);
    return undefined;
  }
  continueIfExpected(req, res);
  const read = await readAdmittedBody(gw, req, res, body);
  return read === undefined ? undefined : { body: read, grants: auth };
}

/**
 * Forwards item i of a request. Items named by a spooling client are forwarded once
 * (src/server/duplicates.ts); others as before.
 */
function itemForwarder(
  gw: Gateway,
  req: http.IncomingMessage,
  items: Uint8Array[],
  grants: Grant[],
  target: 'single' | 'batch',
  /** the per-item headers: the request's, or a stream batch's meta block (./stream.ts) */
  headers: http.IncomingHttpHeaders = req.headers,
): (i: number) => Promise<number> {
  // at most as many names as the body has items: a short range must not expand into a huge list first
  const ids = parseMessageIds(headers[MESSAGE_IDS_HEADER], Math.min(items.length, MAX_NAMED_ITEMS));
  const named = ids && ids.seqs.length === items.length ? ids : undefined;
  const scope = duplicateScope(gw, req, grants);
  const traces = gw.tracing?.items(headers, items.length, target);
  const forward = (i: number) => forwardMedia(gw.forward, items[i], grants, traces?.(i));
  return (i: number): Promise<number> => {
    if (!named) return forward(i);
    let ran = false;
    const run = () => ((ran = true), forward(i));
    return gw.duplicates.forward(scope, named.instance, named.seqs[i], run).then((status) => {
      // dropped as a duplicate: the item's trace still gets its server span, saying so
      if (!ran) traces?.(i)?.refused({ status, code: 'duplicate', description: 'already forwarded' });
      return status;
    });
  };
}

/**
 * Whose names a request's message ids are: its users and its verified client certificate. Without users
 * (mutual TLS alone) every certificate is its own scope, so one client cannot suppress another's messages.
 */
function duplicateScope(gw: Gateway, req: http.IncomingMessage, grants: Grant[]): string {
  const peer = gw.listener?.check(req);
  const certificate = peer?.ok ? (peer.identity?.fingerprint256 ?? '') : '';
  return `${grants.map((g) => g.user).join(',')}\u0000${certificate}`;
}

/**
 * The budget of a Media as it arrives (a `POST /` body, each item of a batch): its fields, and those of its
 * message (the decoders check the same again).
 */
function singleBudget(limits: ServerLimits): FieldBudget {
  const message = { what: 'Message', budget: messageBudget(limits) };
  return { ...mediaBudget(limits), nested: new Map([[1, message]]) };
}

/** POST /: one Media. */
function postSingle(gw: Gateway): Handler {
  const body: Body<Buffer> = {
    budget: singleBudget(gw.limits),
    what: 'Media',
    sink: bodyBuffer,
    traced: true,
  };
  return async (req, res) => {
    const admitted = await admit(gw, req, res, body);
    if (!admitted) return;
    reply(req, res, await itemForwarder(gw, req, [admitted.body], admitted.grants, 'single')(0));
  };
}

/**
 * POST /batch: a MediaBatch, items in order, stopping at the first failure. Each item split from the body
 * as it arrives is scanned against the POST / budget as it arrives too: an item over a limit stops the
 * body there (a crafted 64 MiB item is refused after its first bytes), the items before it are forwarded,
 * and the answer is the one a whole body would get: `{accepted, status: 413}`, then the connection closes.
 */
function postBatch(gw: Gateway): Handler {
  const itemBudget = singleBudget(gw.limits);
  const body: Body<BatchBody> = {
    budget: batchBudget(gw.limits),
    what: 'MediaBatch',
    sink: (declared) => batchItems(declared, () => new FieldScanner('Media', itemBudget)),
    rescue: rescueBatch,
  };
  return async (req, res) => {
    const admitted = await admit(gw, req, res, body);
    if (!admitted) return;
    const answer = await forwardBatch(gw, req, admitted.body, admitted.grants, req.headers);
    if (answer.status !== STATUS.delivered) return reply(req, res, answer.status);
    reply(req, res, STATUS.delivered, {
      body: { contentType: 'application/json', text: answer.text },
      // the rest of a refused body was never read
      close: answer.close,
    });
  };
}

/** The POST /batch item rescue: what a refusal while reading still gives the handler (the items before). */
export function rescueBatch(e: unknown): BatchBody | undefined {
  return e instanceof ItemRefused && e.reason instanceof MessageDecodeError
    ? { items: e.items, refused: e.reason }
    : undefined;
}

/**
 * The items of an admitted batch (POST /batch or a stream's batch frame), in order, stopping at the first
 * failure: 200 with the batch reply, or the status refusing the whole batch (a malformed MediaBatch).
 * `close`: an item was refused while it arrived, so the rest of the body was never read.
 */
async function forwardBatch(
  gw: Gateway,
  req: http.IncomingMessage,
  body: BatchBody,
  grants: Grant[],
  headers: http.IncomingHttpHeaders,
): Promise<{ status: number; text: string; close?: boolean }> {
  let items: Uint8Array[];
  try {
    // split as it arrived (each item in its own buffer), or kept whole when its framing was unusual
    items = 'items' in body ? body.items : decodeMediaBatch(body.body, gw.limits);
  } catch (err) {
    if (!(err instanceof MessageDecodeError)) throw err;
    return { status: refusalOf(err, 'MediaBatch'), text: '' };
  }
  const refused = 'items' in body && body.refused instanceof MessageDecodeError ? body.refused : undefined;
  let accepted = 0;
  let status: number = STATUS.delivered;
  const forwardItem = itemForwarder(gw, req, items, grants, 'batch', headers);
  for (let i = 0; i < items.length; i++) {
    status = await forwardItem(i);
    if (status !== STATUS.delivered) break;
    accepted++;
  }
  if (refused && status === STATUS.delivered) status = refusalOf(refused, 'Media');
  return {
    status: STATUS.delivered,
    text: formatBatchReply({ accepted, status }),
    close: refused !== undefined,
  };
}

/** Answers an upgrade request on its raw socket (no ServerResponse exists for it) and closes it. */
function answerUpgrade(
  socket: Duplex,
  status: number,
  code: StreamRefusalCode,
  headers: Record<string, string> = {},
): void {
  streamRefusalsTotal.inc({ code });
  httpResponsesTotal.inc({ side: 'server', status: String(status) });
  const body = JSON.stringify({ error: code });
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), UPGRADE_CLOSE_GRACE_MS).unref();
}

const UPGRADE_CLOSE_GRACE_MS = 2000;

/**
 * Node hands every HTTP/1.1 request with an `Upgrade` header to this listener once it exists. Only
 * `GET /stream` upgrading to our protocol is taken, after the admission of a POST (peer check, Basic,
 * certificate identity); anything else is answered with a status and a code (docs/errors.md) and closed.
 */
function upgradeListener(gw: Gateway): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  const budget = batchBudget(gw.limits);
  const itemBudget = singleBudget(gw.limits);
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    admitStream(gw, req, socket, head, budget, itemBudget).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'stream upgrade failed');
      socket.destroy();
    });
  };
}

async function admitStream(
  gw: Gateway,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  budget: FieldBudget,
  itemBudget: FieldBudget,
): Promise<void> {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return void socket.destroy();
  if (gw.closing) return answerUpgrade(socket, 503, 'stream_closing');
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== `/${STREAM_ENDPOINT}`) return answerUpgrade(socket, 404, 'stream_upgrade_path');
  if (req.method !== 'GET') return answerUpgrade(socket, 405, 'stream_upgrade_method', { Allow: 'GET' });
  if ((req.headers.upgrade ?? '').trim().toLowerCase() !== STREAM_PROTOCOL)
    return answerUpgrade(socket, 400, 'stream_upgrade_protocol');
  // frames belong after the 101: bytes sent along with the request were not admitted when they were sent
  if (head.length > 0) return answerUpgrade(socket, 400, 'stream_early_frame');
  const auth = await authenticate(gw, req);
  if (!Array.isArray(auth)) {
    traceRefusal(gw, req, auth);
    return answerUpgrade(socket, auth.status, 'stream_upgrade_auth', refusalHeaders(auth));
  }
  if (socket.destroyed) return;
  // close() may have begun during the authentication: its streams were already told to end, and a stream
  // admitted now would hold the HTTP server's close() open for as long as its peer keeps it busy
  if (gw.closing) return answerUpgrade(socket, 503, 'stream_closing');
  // the same for bytes that arrived while the request was being admitted
  if (socket.readableLength > 0) return answerUpgrade(socket, 400, 'stream_early_frame');
  httpResponsesTotal.inc({ side: 'server', status: '101' });
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${STREAM_PROTOCOL}\r\n\r\n`,
  );
  const session = new StreamSession(socket, {
    limits: gw.limits,
    maxBodySize: gw.cfg.maxBodySize,
    budget,
    itemScan: () => new FieldScanner('Media', itemBudget),
    rescue: rescueBatch,
    refusalOf: (err) => refusalOf(err, 'MediaBatch'),
    batch: (meta, body) => streamBatch(gw, req, meta, body),
    onClose: () => gw.streams.delete(session),
  });
  gw.streams.add(session);
}

/** One batch frame of a stream: admitted again like a POST (revocation, quarantine), then forwarded. */
async function streamBatch(
  gw: Gateway,
  req: http.IncomingMessage,
  meta: Record<string, string>,
  body: BatchBody,
): Promise<{ status: number; text: string; close?: boolean }> {
  const auth = await authenticate(gw, req);
  if (!Array.isArray(auth)) {
    traceRefusal(gw, req, auth);
    return { status: auth.status, text: '' };
  }
  return forwardBatch(gw, req, body, auth, meta);
}

/** The route table; /metrics only when there is no separate operations listener. */
function routesOf(gw: Gateway, health: () => HealthReport): Record<string, Route> {
  const routes: Record<string, Route> = {
    '/': { methods: ['POST'], run: postSingle(gw) },
    [`/${BATCH_ENDPOINT}`]: { methods: ['POST'], run: postBatch(gw) },
    '/health': { methods: ['GET', 'HEAD'], run: (_req, res) => writeHealth(res, health()) },
  };
  if (!gw.cfg.ops) routes['/metrics'] = { methods: ['GET', 'HEAD'], run: metricsHandler };
  return routes;
}

/** Request metrics: the POST duration and every answer's status. */
function measureRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const endTimer = req.method === 'POST' ? requestDuration.startTimer({ side: 'server' }) : undefined;
  res.once('finish', () => {
    endTimer?.();
    httpResponsesTotal.inc({ side: 'server', status: String(res.statusCode) });
  });
}

/**
 * Stage `route`, the first: HTTP/1 only, request metrics, then the route's handler; a handler that throws
 * is a 500.
 */
function router(gw: Gateway, routes: Record<string, Route>): http.RequestListener {
  return (req, res) => {
    // HTTP/1.0 and 1.1 only: anything else is not a client of ours, and its connection goes at once.
    if (req.httpVersionMajor !== 1) {
      req.socket.destroy();
      return;
    }
    measureRequest(req, res);
    // While shutting down, every answer closes its connection so close() is not held by keep-alive.
    if (gw.closing) res.setHeader('Connection', 'close');
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return reply(req, res, 404);
    if (!route.methods.includes(req.method ?? ''))
      return reply(req, res, 405, { headers: { Allow: route.methods.join(', ') } });
    Promise.resolve(route.run(req, res)).catch((err: unknown) => {
      log.error({ err: (err as Error).message, path }, 'request failed');
      if (res.headersSent) res.destroy();
      else reply(req, res, 500, { close: true });
    });
  };
}

/** The HTTPS listener (trust store, peer checks, refusals traced) or plain HTTP. */
async function createHttpServer(
  gw: Gateway,
  handler: http.RequestListener,
  cleanups: CleanupStack,
): Promise<http.Server> {
  const { cfg, limits, tracing } = gw;
  if (!cfg.tls) {
    if (cfg.auth?.basic)
      log.warn('Basic auth over plain HTTP: credentials travel in clear text; configure tls');
    return http.createServer(httpServerOptions(limits), handler);
  }
  // Loaded only for TLS: the trust store pulls in the x509 parsing libraries.
  const { createSecureListener } = await import('../tls/server.js');
  const listener = await createSecureListener(cfg.tls, handler, {
    server: { ...httpServerOptions(limits), handshakeTimeout: limits.tlsHandshakeTimeoutMs },
    onRefused: tracing
      ? (reason, address) => tracing.rejected({ kind: 'tls_peer', reason, status: STATUS.refused, address })
      : undefined,
  });
  gw.listener = listener;
  cleanups.push(() => listener.close());
  if (tracing) {
    listener.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: import('node:tls').TLSSocket) =>
      tracing.rejected({
        kind: 'tls_handshake',
        reason: err.code ?? 'handshake failed',
        address: clientAddress(socket),
      }),
    );
  }
  return listener.server;
}

/** Connection budget, PROXY-protocol gate, early refusals and our own `100 Continue`. */
function guardConnections(gw: Gateway, server: http.Server, handler: http.RequestListener) {
  const { cfg, limits } = gw;
  const budget = applyConnectionBudget(server, limits, cfg.tls !== undefined);
  // Wraps emit: every 'connection' listener (the budget's too) sees the connection once its header is
  // read; until then the gate charges it to its TCP peer through the budget.
  const proxyGate = cfg.proxyProtocol
    ? installProxyGate(server, cfg.proxyProtocol, { reserve: budget.reservePending })
    : undefined;
  answerClientErrors(server);
  closeNonHttp1(server, cfg.tls ? 'secureConnection' : 'connection');
  // Without this listener Node answers `100 Continue` itself, before any check ran.
  server.on('checkContinue', handler);
  return { budget, proxyGate };
}

/** Writer, authenticator and statistics, each closed by the cleanup stack. */
async function openOutputs(cfg: ServerConfig, cleanups: CleanupStack) {
  const writer = await SavantWriter.open(cfg.outStream);
  cleanups.push(() => writer.close());
  const authenticator = await openAuthenticator(cfg);
  if (authenticator) cleanups.push(() => authenticator.close());
  const stats = cfg.statistics ? new FpsStatistics(cfg.statistics) : undefined;
  if (stats) cleanups.push(() => stats.close());
  return { writer, authenticator, stats };
}

/** The operations listener (`ops` in the configuration), with the server's readiness and liveness. */
async function startOps(gw: Gateway, health: () => HealthReport): Promise<OpsListener | undefined> {
  if (!gw.cfg.ops) return undefined;
  const parts = { trust: gw.listener?.trust, authenticator: gw.authenticator, closing: () => gw.closing };
  return startOpsListener(
    gw.cfg.ops,
    { health, notReady: () => serverNotReady(parts), notLive: serverNotLive },
    { metrics: true, name: 'operations' },
  );
}

/** Loaded only when configured: without a telemetry section no OpenTelemetry module is ever imported. */
async function openTracing(cfg: ServerConfig): Promise<ServerTracing | undefined> {
  if (!cfg.telemetry) return undefined;
  return (await import('../telemetry/server.js')).startServerTracing(cfg.telemetry);
}

function requireCertificatesForIdentity(cfg: ServerConfig): void {
  if (cfg.auth?.certificateIdentity && !cfg.tls?.clientAuth) {
    // Fail closed: without verified client certificates there is no identity to map.
    throw new ConfigError(
      {},
      'auth.certificate_identity requires TLS client certificates (tls.peers or ssl.client)',
    );
  }
}

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  requireCertificatesForIdentity(cfg);
  exportHalfFamilies(serverFamilies(cfg));
  const cleanups = new CleanupStack((err) => log.warn({ err: err.message }, 'error while closing'));
  const limits = cfg.limits ?? DEFAULT_SERVER_LIMITS;
  try {
    const tracing = await openTracing(cfg);
    // pushed first, so it runs last: the spans of the last requests are exported on the way out
    if (tracing) cleanups.push(() => tracing.shutdown());
    const { writer, authenticator, stats } = await openOutputs(cfg, cleanups);
    const gw: Gateway = {
      cfg,
      limits,
      forward: { writer, authenticator, stats, limits },
      authenticator,
      tracing,
      duplicates: new DuplicateFilter(),
      closing: false,
      streams: new Set(),
    };
    const health = () => aggregateHealth([gw.listener, authenticator]);
    const handler = router(gw, routesOf(gw, health));
    const server = await createHttpServer(gw, handler, cleanups);
    const { budget, proxyGate } = guardConnections(gw, server, handler);
    if (cfg.stream !== false) server.on('upgrade', upgradeListener(gw));
    if (proxyGate) cleanups.push(() => proxyGate.close());
    const port = await listen(server, cfg.port, cfg.ip);
    const closeServer = () =>
      closeHttpServer(server, {
        drainMs: CLOSE_DRAIN_MS,
        afterStop: () => {
          budget.dropHandshaking();
          proxyGate?.dropPending();
        },
      });
    // Runs first on close: stop taking requests before the writer and the rest go away.
    cleanups.push(closeServer);
    // before that: streams finish the batch they are on and close, so the server's close is not held
    cleanups.push(() => {
      for (const s of gw.streams) s.shutdown();
    });

    const url = `${cfg.tls ? 'https' : 'http'}://${urlHost(cfg.ip)}:${port}`;
    log.info(`listening on ${url}`);
    const ops = await startOps(gw, health);
    if (ops) cleanups.pushAfter(closeServer, () => ops.close());

    return {
      port,
      url,
      health,
      ops,
      close: () => {
        gw.closing = true;
        return cleanups.close();
      },
    };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}

/**
 * Argon2 runs on libuv pool threads, one more thread per lane: lowered below the event loop, a guessing
 * flood cannot take the CPU that requests and trust reloads need (src/util/thread-priority.ts).
 */
async function lowerArgon2Priority(limits: ServerLimits): Promise<void> {
  const r = await lowerHelperThreads(limits.helperThreadNice);
  if (r.lowered + r.failed > 0)
    log.info({ nice: limits.helperThreadNice, ...r }, 'helper threads (Argon2) run below the event loop');
}

/** Loaded only when auth is configured: the authenticator pulls in etcd3 (grpc) and argon2. */
async function openAuthenticator(cfg: ServerConfig): Promise<Authenticator | undefined> {
  const auth = cfg.auth;
  if (!auth?.basic && !auth?.certificateIdentity) return undefined;
  const { Authenticator } = await import('../auth/authenticator.js');
  if (auth.basic) await lowerArgon2Priority(cfg.limits ?? DEFAULT_SERVER_LIMITS);
  return Authenticator.open({
    basic: auth.basic,
    certificateIdentity: auth.certificateIdentity,
    limits: cfg.limits,
  });
}
