// Small HTTP helpers of the gateway server: the body reader with a size limit that stops reading
// as soon as the limit is passed, the Content-Type test of the original (actix-protobuf), and the
// empty-bodied replies every POST answer uses.
import type http from 'node:http';

export type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'too_large' } | { kind: 'aborted' };

/**
 * Reads the whole request body, or gives up (without buffering more) once it exceeds `limit` bytes.
 * With a Content-Length the chunks are copied straight into one buffer of that size (no list of chunks
 * and no final concatenation, which for large bodies costs a second copy and twice the memory).
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) return Promise.resolve({ kind: 'too_large' });
  // Node's HTTP parser enforces Content-Length, so the body never overruns a declared length.
  const buffer =
    length !== undefined && Number.isSafeInteger(length) ? Buffer.allocUnsafe(length) : undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (r: BodyResult) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      if (total + chunk.length > (buffer ? buffer.length : limit)) {
        // Stop reading: TCP back-pressure holds the sender until the 413 goes out and the connection closes.
        req.pause();
        done({ kind: 'too_large' });
        return;
      }
      if (buffer) chunk.copy(buffer, total);
      else chunks.push(chunk);
      total += chunk.length;
    };
    const onEnd = () => {
      if (buffer) {
        done({ kind: 'ok', body: total === buffer.length ? buffer : buffer.subarray(0, total) });
        return;
      }
      done({ kind: 'ok', body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total) });
    };
    const onAbort = () => done({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/** actix-protobuf's rule: the essence (before any `;` parameters) is exactly one of the two, case-sensitive. */
export function isProtobufContentType(header: string | undefined): boolean {
  if (!header) return false;
  const essence = header.split(';', 1)[0].trim();
  return essence === 'application/protobuf' || essence === 'application/x-protobuf';
}

export interface ReplyOptions {
  headers?: http.OutgoingHttpHeaders;
  /** answer, then close the connection (refused TLS peer, body left unread) */
  close?: boolean;
  body?: { contentType: string; text: string };
}

/** How long a closing connection may take to flush our answer before it is cut. */
const CLOSE_GRACE_MS = 2000;

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
    res.once('finish', () => {
      const socket = req.socket;
      // A half-close lets the peer read the answer before its unread upload hits a reset.
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    });
  }
  res.writeHead(status, headers);
  res.end(body);
}
