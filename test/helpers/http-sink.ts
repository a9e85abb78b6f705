// A real HTTP receiver standing in for the gateway server in client tests: it decodes each Media body
// (POST / one item, POST /batch a MediaBatch) and answers statuses the test scripts, e.g. "the first two
// requests get 503". It is a real HTTP peer on loopback, not a mock of the client's code.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { decodeMedia, decodeMediaBatch, type Media } from '../../src/savant/media.js';

export interface SinkItem {
  media: Media;
  /** the encoded Media as received */
  encoded: Uint8Array;
  topic: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** subject CN of the client certificate, when one was presented and verified */
  peerCn?: string;
}

export interface SinkRequest {
  path: string;
  items: number;
  status: number;
  headers: http.IncomingHttpHeaders;
}

export interface HttpSinkOptions {
  /** 0 or absent: a free port */
  port?: number;
  /** whether POST /batch exists (default true); false answers 404 like the original server */
  batch?: boolean;
  /** status per item (may wait); `seen` counts every item that arrived before this one */
  respond?: (item: SinkItem, seen: number) => number | Promise<number>;
  /** status for a whole request before its items are looked at (e.g. 413 for large batches); undefined → go on */
  requestStatus?: (req: { path: string; items: number }) => number | undefined;
  /** serve HTTPS with this identity; with `ca`, client certificates are requested (and recorded, not required) */
  tls?: { cert: string; key: string; ca?: string };
}

export class HttpSink extends EventEmitter {
  /** items answered 200, in the order they were accepted */
  readonly accepted: SinkItem[] = [];
  /** every item that got an answer */
  readonly seen: SinkItem[] = [];
  readonly requests: SinkRequest[] = [];
  /** requests other than POST (a client's stream upgrade, src/client/stream.ts): answered 404 like the original */
  readonly others: { method: string; path: string; headers: http.IncomingHttpHeaders }[] = [];
  /** requests being processed right now, and the most at once */
  inflight = 0;
  maxInflight = 0;

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    private readonly scheme: 'http' | 'https',
  ) {
    super();
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  static async start(opts: HttpSinkOptions = {}): Promise<HttpSink> {
    const server = opts.tls
      ? https.createServer({ ...opts.tls, requestCert: !!opts.tls.ca, rejectUnauthorized: false })
      : http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const sink = new HttpSink(server, (server.address() as AddressInfo).port, opts.tls ? 'https' : 'http');
    server.on('request', (req, res) => void sink.handle(opts, req, res));
    return sink;
  }

  /** Resolves once `n` items were accepted (event driven). */
  waitForAccepted(n: number, timeoutMs = 10_000): Promise<SinkItem[]> {
    return this.waitFor(() => this.accepted.length >= n, `${n} accepted items`, timeoutMs).then(
      () => this.accepted,
    );
  }

  /** Resolves once `cond` holds; re-checked on every sink event. */
  waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`http sink: timed out waiting for ${what} (accepted ${this.accepted.length})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('change', check);
      };
      this.on('change', check);
      check();
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(opts: HttpSinkOptions, req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST') {
      this.others.push({ method: req.method ?? '', path, headers: req.headers });
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
      return;
    }
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    this.emit('change');
    const finish = (status: number, items: number, json?: unknown) => {
      this.inflight--;
      this.requests.push({ path, items, status, headers: req.headers });
      const text = json === undefined ? '' : JSON.stringify(json);
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
      this.emit('change');
    };
    if (
      req.method !== 'POST' ||
      (path !== '/' && path !== '/batch') ||
      (path === '/batch' && opts.batch === false)
    ) {
      return finish(404, 0);
    }
    let encoded: Uint8Array[];
    try {
      encoded = path === '/batch' ? decodeMediaBatch(body) : [body];
    } catch {
      return finish(400, 0);
    }
    const whole = opts.requestStatus?.({ path, items: encoded.length });
    if (whole !== undefined) return finish(whole, encoded.length);
    let accepted = 0;
    for (const e of encoded) {
      const media = decodeMedia(e);
      const item: SinkItem = {
        media,
        encoded: e,
        topic: Buffer.from(media.topic).toString('utf8'),
        path,
        headers: req.headers,
        peerCn: peerCommonName(req),
      };
      const status = opts.respond ? await opts.respond(item, this.seen.length) : 200;
      this.seen.push(item);
      if (status !== 200) {
        return path === '/batch' ? finish(200, encoded.length, { accepted, status }) : finish(status, 1);
      }
      this.accepted.push(item);
      accepted++;
    }
    return path === '/batch' ? finish(200, encoded.length, { accepted, status: 200 }) : finish(200, 1);
  }
}

function peerCommonName(req: http.IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
