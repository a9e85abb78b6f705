// The client's side of the stream (src/contract/stream.ts): one upgraded connection per lane carrying the
// lane's batches as frames instead of POST /batch requests, each answered by a reply frame holding exactly
// what POST /batch would have answered (status and body), so the sender's retry, dead-letter, spool and
// order logic sees the same outcomes. One batch in flight per stream, as one request per lane before.
// A stream that fails (closed, reset, timed out, an error frame) fails the batch on it as a transport error:
// the sender retries those items (the server's duplicate filter drops what it had already forwarded).
import type { Duplex } from 'node:stream';
import type { Pool } from 'undici';
import {
  FRAME,
  FRAME_HEADER_BYTES,
  MAX_SERVER_FRAME_BYTES,
  STREAM_META_HEADERS,
  STREAM_PROTOCOL,
  frameHeader,
  readFrameHeader,
} from '../contract/stream.js';
import type { ChunkedBody } from '../savant/index.js';
import { JOIN_BODY_BYTES } from './http.js';
import { Counter } from 'prom-client';
import { family } from '../metrics/index.js';

export const streamFallbacksTotal = family(
  'client',
  new Counter({
    name: 'media_gateway_client_stream_fallbacks_total',
    help: 'Stream upgrades that failed, so batches went by POST /batch, by reason (refused|failed)',
    labelNames: ['reason'] as const,
    registers: [],
  }),
);

export type StreamOutcome =
  { kind: 'response'; status: number; body: string } | { kind: 'transport_error'; error: Error };

/** A stream failure with a code the client's metrics and failure classes read (src/client/refusal.ts). */
export class StreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(o: StreamOutcome): void;
  timer: NodeJS.Timeout;
  onAbort?: () => void;
  signal?: AbortSignal;
}

export class LaneStream {
  private pending?: Pending;
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private failure?: Error;

  private constructor(private readonly socket: Duplex) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('close', () => this.fail(new StreamError('STREAM_CLOSED', 'the server closed the stream')));
    socket.on('end', () => socket.end());
  }

  /**
   * Upgrades one connection of `pool`; rejects when the server answers anything but 101 (undici's
   * `bad upgrade` socket error) or the connection fails.
   */
  static async open(
    pool: Pool,
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<LaneStream> {
    const { socket } = await pool.upgrade({
      path,
      method: 'GET',
      headers,
      protocol: STREAM_PROTOCOL,
      signal,
    });
    return new LaneStream(socket);
  }

  /** Usable for another batch: open and not failed. */
  get alive(): boolean {
    return !this.failure && !this.socket.destroyed;
  }

  /** Sends one batch and waits for its reply; never throws. */
  send(
    meta: Record<string, string> | undefined,
    body: ChunkedBody,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<StreamOutcome> {
    if (this.failure) return Promise.resolve({ kind: 'transport_error', error: this.failure });
    // one lane, one stream, one batch at a time (./http.ts keys streams by lane); never reached otherwise
    if (this.pending)
      return Promise.resolve({
        kind: 'transport_error',
        error: new StreamError('STREAM_BUSY', 'a batch is already in flight on this stream'),
      });
    const reply = this.expectReply(timeoutMs, signal);
    this.write(metaBlock(meta), body);
    return reply;
  }

  /**
   * The pending reply with its timer and abort hook, built apart from send(): a closure keeps its whole
   * scope alive, and with the batch in that scope the abort listener kept the batch's ZeroMQ frames past
   * young-generation collections, so V8 ran a full collection for external memory every ~0.6 s at 784
   * messages/s of 64 KiB (docs/benchmark.md, "The upgraded stream").
   */
  private expectReply(timeoutMs: number, signal?: AbortSignal): Promise<StreamOutcome> {
    return new Promise((resolve) => {
      const p: Pending = {
        resolve,
        timer: setTimeout(
          () => this.fail(new StreamError('STREAM_TIMEOUT', `no reply within ${timeoutMs} ms`)),
          timeoutMs,
        ),
        signal,
      };
      if (signal) {
        p.onAbort = () => this.fail(new StreamError('STREAM_ABORTED', 'aborted'));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending = p;
    });
  }

  /**
   * Small frames go out as one buffer, as POST bodies do (JOIN_BODY_BYTES in ./http.ts); larger ones chunk
   * by chunk, each once the socket has written the previous one. Written all at once (or corked, or as
   * soon as write() returns true), chunks queue in the socket, which then hands them to TLS as one writev: Node's
   * TLS socket joins them into one fresh allocation before encrypting, and for 8 MiB batches that copy and
   * its page faults made the stream cost the client ~50% more CPU per MiB than POST /batch (measured with
   * the benchmark's `--profile`: `writev` 30% of the client's samples).
   */
  private write(meta: Buffer | undefined, body: ChunkedBody): void {
    const header = frameHeader(FRAME.batch, meta?.length ?? 0, body.length);
    const head = meta ? Buffer.concat([header, meta]) : header;
    if (body.length <= JOIN_BODY_BYTES) {
      this.socket.write(Buffer.concat([head, ...body.chunks], head.length + body.length));
      return;
    }
    const chunks = [head, ...body.chunks];
    let i = 0;
    const next = (err?: Error | null): void => {
      if (!err && i < chunks.length && !this.failure) this.socket.write(chunks[i++], next);
    };
    next();
  }

  close(): void {
    this.fail(new StreamError('STREAM_CLOSED', 'closed by the client'));
  }

  private onData(chunk: Buffer): void {
    this.received.push(chunk);
    this.receivedBytes += chunk.length;
    for (;;) {
      if (this.receivedBytes < FRAME_HEADER_BYTES) return;
      const all = this.received.length === 1 ? this.received[0] : Buffer.concat(this.received);
      this.received = [all];
      const frame = readFrameHeader(all);
      const length = frame.metaLength + frame.bodyLength;
      if (length > MAX_SERVER_FRAME_BYTES)
        return this.fail(new StreamError('STREAM_PROTOCOL', `server frame of ${length} bytes`));
      if (all.length < FRAME_HEADER_BYTES + length) return;
      const payload = all.subarray(FRAME_HEADER_BYTES + frame.metaLength, FRAME_HEADER_BYTES + length);
      const rest = all.subarray(FRAME_HEADER_BYTES + length);
      this.received = rest.length > 0 ? [rest] : [];
      this.receivedBytes = rest.length;
      this.onFrame(frame.type, payload);
      if (this.failure) return;
    }
  }

  private onFrame(type: number, payload: Buffer): void {
    if (type === FRAME.error) {
      const code = payload.toString('utf8', 0, Math.min(payload.length, 64)).replace(/[^a-z0-9_]/g, '');
      return this.fail(new StreamError('STREAM_REFUSED', `the server refused the stream: ${code}`));
    }
    const p = this.pending;
    if (type !== FRAME.reply || !p || payload.length < 2)
      return this.fail(new StreamError('STREAM_PROTOCOL', `unexpected frame type ${type}`));
    this.settle({ kind: 'response', status: payload.readUInt16BE(0), body: payload.toString('utf8', 2) });
  }

  private settle(o: StreamOutcome): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    p.resolve(o);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.settle({ kind: 'transport_error', error: this.failure });
    this.socket.destroy();
  }
}

/**
 * The batch's per-item headers that the frame carries (message ids, trace contexts); the rest (the standard
 * trace headers added for a request of one item, which POST / reads) mean nothing to a batch and are left out.
 */
function metaBlock(headers: Record<string, string> | undefined): Buffer | undefined {
  if (!headers) return undefined;
  let meta: Record<string, string> | undefined;
  for (const name of STREAM_META_HEADERS) {
    const v = headers[name];
    if (v !== undefined) (meta ??= {})[name] = v;
  }
  return meta && Buffer.from(JSON.stringify(meta));
}
