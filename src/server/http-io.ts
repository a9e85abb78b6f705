// Small HTTP helpers of the gateway server: the body reader with a size limit that stops reading
// as soon as the limit is passed and a progress timeout (the bytes go into a sink of ./body-sinks.ts),
// the Content-Type test of the original (actix-protobuf), and the empty-bodied replies every POST answer uses.
import type http from 'node:http';
import { MEDIA_CONTENT_TYPE, MEDIA_CONTENT_TYPE_ALIAS } from '../contract/http.js';
import { bodyBuffer, type BodySink } from './body-sinks.js';

export type BodyResult<T = Buffer> =
  | { kind: 'ok'; body: T }
  | { kind: 'too_large' }
  | { kind: 'aborted' }
  | { kind: 'stalled' }
  /** fewer bytes than the minimum rate asks arrived in one progress window */
  | { kind: 'too_slow' }
  /** `inspect` or the sink threw: the body was refused while it arrived */
  | { kind: 'refused'; error: unknown };

/** The declared Content-Length as a number; undefined when absent (chunked). Node has validated its syntax. */
export function declaredLength(req: http.IncomingMessage): number | undefined {
  const declared = req.headers['content-length'];
  return declared === undefined ? undefined : Number(declared);
}

/**
 * Reads the whole request body, or gives up (without buffering more) once it exceeds `limit` bytes, when
 * no byte arrived for `progressTimeoutMs` (a client that stalls mid-body holds nothing for long), or when
 * a whole window of `progressTimeoutMs` brought fewer bytes than `minBytesPerSecond` asks (a client that
 * drips a byte now and then makes progress, but must not hold a connection until the request timeout).
 */
export function readBody(
  req: http.IncomingMessage,
  limit: number,
  progressTimeoutMs = 0,
  /** sees every chunk as it arrives; throwing refuses the body (reading stops) */
  inspect?: (chunk: Buffer) => void,
  minBytesPerSecond = 0,
): Promise<BodyResult> {
  return readBodyInto(req, bodyBuffer, { limit, progressTimeoutMs, inspect, minBytesPerSecond });
}

export interface ReadBodyOptions {
  limit: number;
  progressTimeoutMs?: number;
  /** sees every chunk as it arrives, before the sink; throwing refuses the body (reading stops) */
  inspect?: (chunk: Buffer) => void;
  minBytesPerSecond?: number;
}

/** readBody with the body going into a sink made for its declared length (./body-sinks.ts). */
export function readBodyInto<T>(
  req: http.IncomingMessage,
  sinkFor: (declared: number | undefined) => BodySink<T>,
  { limit, progressTimeoutMs = 0, inspect, minBytesPerSecond = 0 }: ReadBodyOptions,
): Promise<BodyResult<T>> {
  const length = declaredLength(req);
  if (length !== undefined && length > limit) return Promise.resolve({ kind: 'too_large' });
  // Node's HTTP parser enforces Content-Length, so the body never overruns a declared length.
  const body = sinkFor(length);
  return new Promise((resolve) => {
    let stallTimer: NodeJS.Timeout | undefined;
    const armStallTimer = () => {
      if (progressTimeoutMs <= 0) return;
      if (stallTimer) stallTimer.refresh();
      else stallTimer = setTimeout(() => done({ kind: 'stalled' }), progressTimeoutMs);
    };
    // the rate is judged per whole window, so a burst after a pause counts and one slow packet does not
    let windowBytes = 0;
    const windowMinimum = (minBytesPerSecond * progressTimeoutMs) / 1000;
    const rateTimer =
      windowMinimum > 0
        ? setInterval(() => {
            // a window with no byte at all is the progress timeout's to report
            if (windowBytes > 0 && windowBytes < windowMinimum) done({ kind: 'too_slow' });
            windowBytes = 0;
          }, progressTimeoutMs)
        : undefined;
    const done = (r: BodyResult<T>) => {
      if (stallTimer) clearTimeout(stallTimer);
      if (rateTimer) clearInterval(rateTimer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      if (body.length + chunk.length > limit) {
        // Stop reading: TCP back-pressure holds the sender until the 413 goes out and the connection closes.
        req.pause();
        done({ kind: 'too_large' });
        return;
      }
      if (inspect) {
        try {
          inspect(chunk);
        } catch (error) {
          req.pause();
          done({ kind: 'refused', error });
          return;
        }
      }
      try {
        body.add(chunk);
      } catch (error) {
        // the sink refused what it was given (src/server/body-sinks.ts ItemRefused)
        req.pause();
        done({ kind: 'refused', error });
        return;
      }
      windowBytes += chunk.length;
      armStallTimer();
    };
    const onEnd = () => done({ kind: 'ok', body: body.take() });
    const onAbort = () => done({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
    armStallTimer();
  });
}

/** actix-protobuf's rule: the essence (before any `;` parameters) is exactly one of the two, case-sensitive. */
export function isProtobufContentType(header: string | undefined): boolean {
  if (!header) return false;
  const essence = header.split(';', 1)[0].trim();
  return essence === MEDIA_CONTENT_TYPE || essence === MEDIA_CONTENT_TYPE_ALIAS;
}

export interface ReplyOptions {
  headers?: http.OutgoingHttpHeaders;
  /** answer, then close the connection (refused TLS peer, body left unread) */
  close?: boolean;
  body?: { contentType: string; text: string };
}

/** How long a closing connection may take to flush our answer before it is cut. */
const CLOSE_GRACE_MS = 2000;

/**
 * A lingering close. Node's HTTP server destroys a `Connection: close` socket as soon as the answer is
 * flushed; with the peer's upload still arriving (a refused body) the kernel then answers with a reset, and a
 * reset can make the peer lose the answer it had already received (the stress suite saw a 413 vanish this
 * way). Instead the socket is half-closed and the rest of the upload is read and discarded until the peer
 * closes or CLOSE_GRACE_MS passes.
 */
function lingerOnClose(req: http.IncomingMessage): void {
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    req.resume(); // nobody listens to the body any more: its bytes are discarded
    socket.resume();
    socket.once('end', () => socket.destroy());
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  };
}

export function reply(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  opts: ReplyOptions = {},
): void {
  if (res.headersSent) return;
  const headers: http.OutgoingHttpHeaders = { ...opts.headers };
  const body = opts.body ? Buffer.from(opts.body.text) : undefined;
  if (body) headers['Content-Type'] = opts.body!.contentType;
  headers['Content-Length'] = body ? body.length : 0;
  if (opts.close) {
    headers['Connection'] = 'close';
    lingerOnClose(req);
  }
  res.writeHead(status, headers);
  res.end(body);
}
