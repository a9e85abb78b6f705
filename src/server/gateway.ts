// The gateway server (cloud half): HTTP(S) in, Savant ZeroMQ out. Routes: POST / (the original's one
// Media per request), POST /batch (our extension: a MediaBatch, items in order, stop at the first
// failure), GET /health and GET /metrics. Unlike the original there is no global lock: requests on
// different connections run concurrently, and the writer's FIFO queue keeps each sender's order.
import { ConfigError } from '../config/errors.js';
import http from 'node:http';
import type { ServerConfig, ServerLimits } from '../config/types.js';
import { SavantWriter } from '../savant/writer.js';
import { batchBudget, decodeMediaBatch, mediaBudget } from '../savant/media.js';
import { FieldScanner, type FieldBudget } from '../savant/field-scan.js';
import { MessageDecodeError } from '../savant/message.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { SecureListener } from '../tls/server.js';
import { FpsStatistics } from '../stats/fps.js';
import { aggregateHealth, writeHealth, type HealthReport } from '../health/health.js';
import { metricsHandler } from '../metrics/http.js';
import { exportHalfFamilies, serverFamilies } from '../ops/families.js';
import { startOpsListener, type OpsListener } from '../ops/listener.js';
import { serverNotLive, serverNotReady } from '../ops/server-probes.js';
import { httpResponsesTotal, requestDuration } from '../metrics/registry.js';
import { logger } from '../util/log.js';
import { CleanupStack } from '../util/cleanup-stack.js';
import { BATCH_ENDPOINT, formatBatchReply } from '../contract/http.js';
import { closeServer as closeHttpServer, listen, urlHost } from '../util/listen.js';
import { lowerHelperThreads } from '../util/thread-priority.js';
import { MESSAGE_IDS_HEADER, parseMessageIds } from '../spool/identity.js';
import { DuplicateFilter } from './duplicates.js';
import { forwardMedia, refusalOf, type ForwardContext, type Grant } from './forward.js';
import { declaredLength, isProtobufContentType, readBody, reply } from './http-io.js';
import { DEFAULT_SERVER_LIMITS } from '../config/limits.js';
import {
  answerClientErrors,
  applyConnectionBudget,
  closeNonHttp1,
  httpServerOptions,
} from '../limits/connection-budget.js';
import { connectionTimeoutsTotal } from '../limits/metrics.js';
import { installProxyGate } from '../proxy-protocol/gate.js';
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

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  if (cfg.auth?.certificateIdentity && !cfg.tls?.clientAuth) {
    // Fail closed: without verified client certificates there is no identity to map.
    throw new ConfigError(
      {},
      'auth.certificate_identity requires TLS client certificates (tls.peers or ssl.client)',
    );
  }
  exportHalfFamilies(serverFamilies(cfg));
  const cleanups = new CleanupStack((err) => log.warn({ err: err.message }, 'error while closing'));

  const limits = cfg.limits ?? DEFAULT_SERVER_LIMITS;
  try {
    // Loaded only when configured: without a telemetry section no OpenTelemetry module is ever imported.
    const tracing = cfg.telemetry
      ? await (await import('../telemetry/server.js')).startServerTracing(cfg.telemetry)
      : undefined;
    // pushed first, so it runs last: the spans of the last requests are exported on the way out
    if (tracing) cleanups.push(() => tracing.shutdown());
    const writer = await SavantWriter.open(cfg.outStream);
    cleanups.push(() => writer.close());
    const authenticator = await openAuthenticator(cfg);
    if (authenticator) cleanups.push(() => authenticator.close());
    const stats = cfg.statistics ? new FpsStatistics(cfg.statistics) : undefined;
    if (stats) cleanups.push(() => stats.close());

    const ctx: ForwardContext = { writer, authenticator, stats, limits };
    const mediaFields = mediaBudget(limits);
    const batchFields = batchBudget(limits);
    let listener: SecureListener | undefined;
    let closing = false;

    /** TLS peer check, then Basic, then certificate identity; every configured method must pass. */
    const authenticate = async (req: http.IncomingMessage): Promise<Grant[] | Refusal> => {
      const peer = listener?.check(req);
      if (peer && !peer.ok)
        return { status: peer.status, close: true, check: 'tls_peer', reason: peer.reason };
      const grants: Grant[] = [];
      if (cfg.auth?.basic) {
        const d = await authenticator!.authenticateBasic(
          req.headers.authorization,
          clientAddress(req.socket),
        );
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
          return { status: 401, check: 'certificate_identity', reason: 'no verified client certificate' };
        const d = await authenticator!.authenticateCertificate(identity);
        if (!d.ok) return { status: d.status, check: 'certificate_identity', reason: `HTTP ${d.status}` };
        grants.push(d);
      }
      return grants;
    };

    /**
     * The part both POST routes share: declared size, auth, Content-Type, then (only now) `100 Continue`
     * and the body. Resolves to the body or undefined (answered).
     */
    const admit = async (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      budget: FieldBudget,
      what: string,
    ): Promise<{ body: Buffer; grants: Grant[] } | undefined> => {
      if ((declaredLength(req) ?? 0) > cfg.maxBodySize) {
        reply(req, res, 413, { close: true });
        return undefined;
      }
      const auth = await authenticate(req);
      if (!Array.isArray(auth)) {
        tracing?.rejected({
          kind: auth.check,
          reason: auth.reason,
          status: auth.status,
          address: clientAddress(req.socket),
        });
        const headers: http.OutgoingHttpHeaders = {};
        if (auth.challenge) headers['WWW-Authenticate'] = 'Basic';
        if (auth.retryAfterSeconds !== undefined) headers['Retry-After'] = String(auth.retryAfterSeconds);
        reply(req, res, auth.status, { headers, close: auth.close });
        return undefined;
      }
      if (!isProtobufContentType(req.headers['content-type'])) {
        reply(req, res, 400);
        return undefined;
      }
      continueIfExpected(req, res);
      // the body's own fields are counted as they arrive: a crafted body is refused after its first bytes
      const scanner = new FieldScanner(what, budget);
      const body = await readBody(
        req,
        cfg.maxBodySize,
        limits.bodyProgressTimeoutMs,
        (c) => scanner.push(c),
        limits.minBodyRate,
      );
      if (body.kind === 'refused') {
        if (!(body.error instanceof MessageDecodeError)) throw body.error;
        reply(req, res, refusalOf(body.error, what), { close: true });
        return undefined;
      }
      if (body.kind === 'too_large') {
        reply(req, res, 413, { close: true });
        return undefined;
      }
      if (body.kind === 'stalled') connectionTimeoutsTotal.inc({ phase: 'body_progress' });
      if (body.kind === 'too_slow') connectionTimeoutsTotal.inc({ phase: 'body_rate' });
      if (body.kind === 'aborted' || body.kind === 'stalled' || body.kind === 'too_slow') {
        res.destroy();
        return undefined;
      }
      return { body: body.body, grants: auth };
    };

    // Items named by a spooling client are forwarded once (src/server/duplicates.ts); others as before.
    const duplicates = new DuplicateFilter();
    const forwardOnce = (
      req: http.IncomingMessage,
      items: Uint8Array[],
      grants: Grant[],
      target: 'single' | 'batch',
    ) => {
      const ids = parseMessageIds(req.headers[MESSAGE_IDS_HEADER], MAX_NAMED_ITEMS);
      const named = ids && ids.seqs.length === items.length ? ids : undefined;
      const scope = grants.map((g) => g.user).join(',');
      const traces = tracing?.items(req, items.length, target);
      const forward = (i: number) => forwardMedia(ctx, items[i], grants, traces?.(i));
      return (i: number): Promise<number> => {
        if (!named) return forward(i);
        let ran = false;
        const run = () => ((ran = true), forward(i));
        return duplicates.forward(scope, named.instance, named.seqs[i], run).then((status) => {
          // dropped as a duplicate: the item's trace still gets its server span, saying so
          if (!ran) traces?.(i)?.refused({ status, code: 'duplicate', description: 'already forwarded' });
          return status;
        });
      };
    };

    const postSingle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const admitted = await admit(req, res, mediaFields, 'Media');
      if (!admitted) return;
      reply(req, res, await forwardOnce(req, [admitted.body], admitted.grants, 'single')(0));
    };

    const postBatch = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const admitted = await admit(req, res, batchFields, 'MediaBatch');
      if (!admitted) return;
      let items: Uint8Array[];
      try {
        items = decodeMediaBatch(admitted.body, limits);
      } catch (err) {
        if (!(err instanceof MessageDecodeError)) throw err;
        reply(req, res, refusalOf(err, 'MediaBatch'));
        return;
      }
      let accepted = 0;
      let status = 200;
      const forwardItem = forwardOnce(req, items, admitted.grants, 'batch');
      for (let i = 0; i < items.length; i++) {
        status = await forwardItem(i);
        if (status !== 200) break;
        accepted++;
      }
      reply(req, res, 200, {
        body: { contentType: 'application/json', text: formatBatchReply({ accepted, status }) },
      });
    };

    const metricsHere = !cfg.ops;
    const routes: Record<
      string,
      { methods: string[]; run: (req: http.IncomingMessage, res: http.ServerResponse) => unknown }
    > = {
      '/': { methods: ['POST'], run: postSingle },
      [`/${BATCH_ENDPOINT}`]: { methods: ['POST'], run: postBatch },
      '/health': { methods: ['GET', 'HEAD'], run: (_req, res) => writeHealth(res, health()) },
    };
    if (metricsHere) routes['/metrics'] = { methods: ['GET', 'HEAD'], run: metricsHandler };

    const handler: http.RequestListener = (req, res) => {
      // HTTP/1.0 and 1.1 only: anything else is not a client of ours, and its connection goes at once.
      if (req.httpVersionMajor !== 1) {
        req.socket.destroy();
        return;
      }
      const endTimer = req.method === 'POST' ? requestDuration.startTimer({ side: 'server' }) : undefined;
      res.once('finish', () => {
        endTimer?.();
        httpResponsesTotal.inc({ side: 'server', status: String(res.statusCode) });
      });
      // While shutting down, every answer closes its connection so close() is not held by keep-alive.
      if (closing) res.setHeader('Connection', 'close');
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

    let server: http.Server;
    if (cfg.tls) {
      // Loaded only for TLS: the trust store pulls in the x509 parsing libraries.
      const { createSecureListener } = await import('../tls/server.js');
      listener = await createSecureListener(cfg.tls, handler, {
        server: { ...httpServerOptions(limits), handshakeTimeout: limits.tlsHandshakeTimeoutMs },
        onRefused: tracing
          ? (reason, address) => tracing.rejected({ kind: 'tls_peer', reason, status: 401, address })
          : undefined,
      });
      const l = listener;
      cleanups.push(() => l.close());
      server = l.server;
      if (tracing) {
        server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: import('node:tls').TLSSocket) =>
          tracing.rejected({
            kind: 'tls_handshake',
            reason: err.code ?? 'handshake failed',
            address: clientAddress(socket),
          }),
        );
      }
    } else {
      server = http.createServer(httpServerOptions(limits), handler);
      if (cfg.auth?.basic)
        log.warn('Basic auth over plain HTTP: credentials travel in clear text; configure tls');
    }
    const budget = applyConnectionBudget(server, limits, cfg.tls !== undefined);
    // Wraps emit: every 'connection' listener (the budget's too) sees the connection once its header is
    // read; until then the gate charges it to its TCP peer through the budget.
    const proxyGate = cfg.proxyProtocol
      ? installProxyGate(server, cfg.proxyProtocol, { reserve: budget.reservePending })
      : undefined;
    if (proxyGate) cleanups.push(() => proxyGate.close());
    answerClientErrors(server);
    closeNonHttp1(server, cfg.tls ? 'secureConnection' : 'connection');
    // Without this listener Node answers `100 Continue` itself, before any check ran.
    server.on('checkContinue', handler);
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

    const url = `${cfg.tls ? 'https' : 'http'}://${urlHost(cfg.ip)}:${port}`;
    const health = () => aggregateHealth([listener, authenticator]);
    log.info(`listening on ${url}`);
    const parts = { trust: listener?.trust, authenticator, closing: () => closing };
    const ops = cfg.ops
      ? await startOpsListener(
          cfg.ops,
          { health, notReady: () => serverNotReady(parts), notLive: serverNotLive },
          { metrics: true, name: 'operations' },
        )
      : undefined;
    if (ops) cleanups.pushAfter(closeServer, () => ops.close());

    return {
      port,
      url,
      health,
      ops,
      close: () => {
        closing = true;
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
