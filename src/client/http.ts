// The client's HTTP(S) connection to the gateway server: one undici Pool with keep-alive and at least one
// connection per lane (no pipelining, so a slow request never delays another lane's), the original's
// headers (Content-Type application/protobuf, Basic credentials on every request), and per-request metrics.
import { ConfigError, type ClientConfig, DEFAULT_REQUEST_TIMEOUT_MS } from '../config/index.js';
import { BATCH_ENDPOINT, MEDIA_CONTENT_TYPE } from '../contract/http.js';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { Pool } from 'undici';
import type { ChunkedBody } from '../savant/index.js';
import { clientTransportErrorsTotal, httpResponsesTotal, requestDuration } from '../metrics/index.js';
import { STREAM_ENDPOINT } from '../contract/stream.js';
import { logger } from '../util/index.js';
import { LaneStream, streamFallbacksTotal } from './stream.js';

const log = logger('media_gateway::client');

export type PostTarget = 'single' | 'batch';

/** undici's own connect timeout; a shorter request timeout lowers it too. */
const CONNECT_TIMEOUT_MS = 10_000;

const EMPTY = new Uint8Array(0);

/**
 * Bodies of several chunks up to this size are joined into one buffer before they are posted; larger ones
 * are streamed chunk by chunk. Why: a stream body (Readable.from) keeps the frames it references alive past
 * the young-generation collections, so the zeromq.js receive buffers behind them, which V8 counts as
 * external memory, were freed only by full mark-compacts: one per ~32 MB of frames, about one a second at
 * 536 messages/s of 64 KiB. Joined, the frames die young: no full collection in the client at that rate,
 * and its CPU per message fell from 973 to 851 µs although each body is copied once more
 * (docs/benchmark.md, "Latency tail"). 1 MiB frames and large batches stay streamed: there a copy per
 * request costs more and was not measured to pay.
 */
export const JOIN_BODY_BYTES = 1024 * 1024;

/** What undici is given for `body`: one buffer when it can be (see JOIN_BODY_BYTES), else a stream. */
export function requestBody(body: ChunkedBody): Uint8Array | Readable {
  if (body.chunks.length <= 1) return body.chunks[0] ?? EMPTY;
  if (body.length <= JOIN_BODY_BYTES) return Buffer.concat(body.chunks, body.length);
  return Readable.from(body.chunks, { objectMode: false });
}

export type PostOutcome =
  { kind: 'response'; status: number; body: string } | { kind: 'transport_error'; error: Error };

/** What the sender posts through: one server (GatewayHttp) or several (./servers.ts). */
export interface PostingHttp {
  post(
    target: PostTarget,
    body: ChunkedBody,
    signal?: AbortSignal,
    headers?: Record<string, string>,
    /** the lane posting: with several servers each lane has its own (./servers.ts) */
    lane?: number,
  ): Promise<PostOutcome>;
  close(): Promise<void>;
}

/**
 * POST / stays the configured URL's path; the batch endpoint sits next to it (`<path>/batch`), and so does
 * the stream's upgrade (`<path>/stream`).
 */
export function targetPaths(url: URL): Record<PostTarget | 'stream', string> {
  const single = url.pathname + url.search;
  const dir = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return {
    single,
    batch: `${dir}${BATCH_ENDPOINT}${url.search}`,
    stream: `${dir}${STREAM_ENDPOINT}${url.search}`,
  };
}

/**
 * How long batches go by POST /batch after the server answered the upgrade with anything but 101 (a server
 * without the stream: ours with `stream: false`, an older one, the original), before it is asked again.
 */
export const STREAM_REFUSED_RETRY_MS = 10 * 60_000;
/** The same after an upgrade that failed on the connection (server down, reset): the POST says more. */
export const STREAM_FAILED_RETRY_MS = 5_000;

/** Batches over one upgraded stream per lane (./stream.ts), POST /batch while the server has none. */
class LaneStreams {
  private readonly streams = new Map<number, LaneStream>();
  private retryAt = 0;
  private fallbackLogged = false;

  constructor(
    private readonly pool: Pool,
    private readonly path: string,
    private readonly headers: Record<string, string>,
    private readonly origin: string,
  ) {}

  /** The lane's stream, opened when needed; undefined: use POST /batch this time. */
  async get(lane: number, signal?: AbortSignal): Promise<LaneStream | undefined> {
    const open = this.streams.get(lane);
    if (open?.alive) return open;
    this.streams.delete(lane);
    if (Date.now() < this.retryAt || signal?.aborted) return undefined;
    try {
      const s = await LaneStream.open(this.pool, this.path, this.headers, signal);
      this.streams.set(lane, s);
      this.fallbackLogged = false;
      return s;
    } catch (err) {
      const refused = /bad upgrade/i.test((err as Error).message);
      this.retryAt = Date.now() + (refused ? STREAM_REFUSED_RETRY_MS : STREAM_FAILED_RETRY_MS);
      streamFallbacksTotal.inc({ reason: refused ? 'refused' : 'failed' });
      if (refused && !this.fallbackLogged) {
        this.fallbackLogged = true;
        log.info(
          { server: this.origin, retryInMs: STREAM_REFUSED_RETRY_MS },
          // undici's "bad upgrade" carries no status: a server without the stream and a refused client
          // (a revoked certificate, a quarantine) look the same here; the POST /batch that follows tells them apart
          'the server did not take the stream upgrade (no stream, or it refused this client); batches go by POST /batch',
        );
      }
      return undefined;
    }
  }

  close(): void {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }
}

export class GatewayHttp {
  private constructor(
    private readonly pool: Pool,
    private readonly paths: Record<PostTarget, string>,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
    private readonly streams?: LaneStreams,
  ) {}

  /** `serverUrl`: one of the configured servers (default the only one, `url`). */
  static async open(cfg: ClientConfig, serverUrl = cfg.url): Promise<GatewayHttp> {
    const url = new URL(serverUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError({}, `client url must be http:// or https://, got ${url.protocol}`);
    }
    const headers: Record<string, string> = { 'content-type': MEDIA_CONTENT_TYPE };
    if (cfg.auth?.basic) {
      const { username, password } = cfg.auth.basic;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    const timeout = cfg.transport.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const pool = new Pool(url.origin, {
      connections: Math.max(1, cfg.transport.lanes),
      pipelining: 1,
      keepAliveTimeout: 60_000,
      // A frozen server (stopped process, VM pause, a partition dropping packets) still has its connections
      // accepted by the kernel: only these timers end the wait (UND_ERR_HEADERS_TIMEOUT, ..._BODY_TIMEOUT,
      // UND_ERR_CONNECT_TIMEOUT), a transport error that moves the lane to the next server (./servers.ts).
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: {
        timeout: Math.min(CONNECT_TIMEOUT_MS, timeout),
        ...(url.protocol === 'https:' ? await tlsConnectOptions(cfg) : {}),
      },
    });
    const paths = targetPaths(url);
    const streams =
      cfg.transport.stream === false
        ? undefined
        : new LaneStreams(
            pool,
            paths.stream,
            headers.authorization ? { authorization: headers.authorization } : {},
            url.origin,
          );
    return new GatewayHttp(pool, paths, headers, timeout, streams);
  }

  /**
   * One POST; never throws (transport failures come back as an outcome). The response body is read fully.
   * A body of several chunks is joined (up to JOIN_BODY_BYTES) or written chunk by chunk with its Content-Length.
   */
  async post(
    target: PostTarget,
    body: ChunkedBody,
    signal?: AbortSignal,
    extraHeaders?: Record<string, string>,
    lane = 0,
  ): Promise<PostOutcome> {
    const stream = target === 'batch' ? await this.streams?.get(lane, signal) : undefined;
    if (stream) return this.sendOnStream(stream, body, signal, extraHeaders);
    const stopTimer = requestDuration.startTimer({ side: 'client' });
    try {
      const payload = requestBody(body);
      // a stream has no length of its own: undici needs the declared one
      let headers =
        payload instanceof Readable
          ? { ...this.headers, 'content-length': String(body.length) }
          : this.headers;
      if (extraHeaders) headers = { ...headers, ...extraHeaders };
      const res = await this.pool.request({
        method: 'POST',
        path: this.paths[target],
        headers,
        body: payload,
        signal,
      });
      const text = await res.body.text();
      httpResponsesTotal.inc({ side: 'client', status: String(res.statusCode) });
      return { kind: 'response', status: res.statusCode, body: text };
    } catch (err) {
      clientTransportErrorsTotal.inc({ code: errorCode(err) });
      return { kind: 'transport_error', error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      stopTimer();
    }
  }

  /** One batch over the lane's stream, measured and counted like the POST it replaces. */
  private async sendOnStream(
    stream: LaneStream,
    body: ChunkedBody,
    signal?: AbortSignal,
    extraHeaders?: Record<string, string>,
  ): Promise<PostOutcome> {
    const stopTimer = requestDuration.startTimer({ side: 'client' });
    const out = await stream.send(extraHeaders, body, this.timeoutMs, signal);
    stopTimer();
    if (out.kind === 'response') httpResponsesTotal.inc({ side: 'client', status: String(out.status) });
    else clientTransportErrorsTotal.inc({ code: errorCode(out.error) });
    return out;
  }

  async close(): Promise<void> {
    this.streams?.close();
    // destroy, not close: close() would wait for requests that a shutdown has already given up on.
    await this.pool.destroy();
  }
}

/**
 * A bounded label value for a request that got no response: Node's and undici's error codes
 * (ECONNREFUSED, UND_ERR_SOCKET, ERR_SSL_..., CERT_HAS_EXPIRED) are a fixed vocabulary; anything else is `other`.
 */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'other';
}

// Loaded only for https URLs, so a plain-HTTP client never touches the TLS code.
async function tlsConnectOptions(cfg: ClientConfig): Promise<Record<string, unknown>> {
  if (!cfg.tls) return {};
  const { loadClientTls } = await import('../tls/client.js');
  const material = await loadClientTls(cfg.tls);
  // Like the original: the system roots stay trusted, the configured root certificate is added to them.
  const ca = material.ca ? [...tls.rootCertificates, ...material.ca] : undefined;
  // One context for every connection: built per connection, parsing ~140 roots cost ~20 ms of CPU each
  // time (measured in the client's profile), at every reconnect too.
  return { secureContext: tls.createSecureContext({ ...material, ...(ca ? { ca } : {}) }) };
}
