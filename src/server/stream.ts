// The server's side of the stream (src/contract/stream.ts): after an upgrade admitted like a POST
// (./gateway.ts), batch frames are read off the socket one at a time, each admitted again and forwarded
// exactly as a POST /batch would be (the same body sink, decode limits, per-item duplicate filter, trace
// contexts and statuses), and answered with a reply frame carrying what POST /batch would have answered.
//
// The HTTP server's timeouts no longer apply to an upgraded socket, so the stream has its own: an idle
// timeout between frames (limits.idle_timeout) and, inside a frame, the body progress timeout and minimum
// byte rate of a POST body. The socket is paused while a batch is admitted and forwarded (one batch in
// flight per stream: a peer that sends ahead fills only its socket buffers), and a frame declaring more
// than max_body_size (or a meta block over MAX_META_BYTES) is refused before anything is allocated for it.
import type { Duplex } from 'node:stream';
import { Counter } from 'prom-client';
import type { ServerLimits } from '../config/index.js';
import {
  FRAME,
  FRAME_HEADER_BYTES,
  MAX_META_BYTES,
  STREAM_META_HEADERS,
  errorFrame,
  readFrameHeader,
  replyFrame,
  type FrameHeader,
} from '../contract/stream.js';
import { connectionTimeoutsTotal } from '../limits/index.js';
import { family } from '../metrics/index.js';
import { FieldScanner, type FieldBudget } from '../savant/field-scan.js';
import { MessageDecodeError } from '../savant/message.js';
import { batchItems, type BatchBody, type BodySink, type ItemScan } from './body-sinks.js';

export const streamRefusalsTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_stream_refusals_total',
    help: 'Stream upgrades refused and streams closed for a protocol violation, by code (docs/errors.md)',
    labelNames: ['code'] as const,
    registers: [],
  }),
);

export const streamBatchesTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_stream_batches_total',
    help: 'Batch frames read from upgraded streams (each answered like a POST /batch)',
    registers: [],
  }),
);

/** Stable codes of the stream's refusals (docs/errors.md, "Stream refusals"), the label of streamRefusalsTotal. */
export const STREAM_REFUSAL_CODES = [
  'stream_upgrade_path',
  'stream_upgrade_method',
  'stream_upgrade_protocol',
  'stream_upgrade_auth',
  'stream_early_frame',
  'stream_closing',
  'stream_unknown_frame',
  'stream_meta_too_large',
  'stream_bad_meta',
  'stream_frame_too_large',
  'stream_body_refused',
  'stream_batch_refused',
] as const;
export type StreamRefusalCode = (typeof STREAM_REFUSAL_CODES)[number];

/** What a stream needs from the gateway for each batch. */
export interface StreamBatchHandler {
  /** the POST /batch answer for these items: status and body text */
  (
    headers: Record<string, string>,
    body: BatchBody,
  ): Promise<{ status: number; text: string; close?: boolean }>;
}

export interface StreamOptions {
  limits: Readonly<ServerLimits>;
  maxBodySize: number;
  budget: FieldBudget;
  /** each item's scan as it arrives (POST /batch's, body-sinks.ts) */
  itemScan?: () => ItemScan;
  /** what an item refused while it arrived still gives the batch: the items before it (POST /batch's) */
  rescue(e: unknown): BatchBody | undefined;
  batch: StreamBatchHandler;
  /** how a body refused while it arrived is answered (the POST's status for the same error) */
  refusalOf(err: MessageDecodeError): number;
  /** called once when the stream ends, for whatever reason */
  onClose?(): void;
}

type State =
  | { kind: 'header'; bytes: Buffer[]; length: number }
  | { kind: 'meta'; frame: FrameHeader; bytes: Buffer[]; length: number }
  | {
      kind: 'body';
      frame: FrameHeader;
      meta: Record<string, string>;
      sink: BodySink<BatchBody>;
      scanner: FieldScanner;
      length: number;
    };

/** Reads and answers batch frames on an upgraded socket until it closes. */
export class StreamSession {
  private state: State = { kind: 'header', bytes: [], length: 0 };
  /** bytes after a frame that completed inside a chunk, read once the batch is answered */
  private rest?: Buffer;
  private busy = false;
  private draining = false;
  /** an item was refused inside the frame: the rest of it is unread, so the stream ends after the reply */
  private closeAfterBatch = false;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private timerPhase?: 'idle' | 'body_progress';
  private rateTimer?: NodeJS.Timeout;
  /** cuts a peer that leaves its replies unread for idle_timeout (see afterReply) */
  private drainTimer?: NodeJS.Timeout;
  private windowBytes = 0;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: StreamOptions,
  ) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('close', () => this.end());
    socket.on('error', () => this.end());
    socket.on('end', () => this.close());
    this.arm();
  }

  /** Server shutdown: the batch being forwarded is answered first, then the stream closes. */
  shutdown(): void {
    this.draining = true;
    // a batch whose reply is written but unread by the peer is done: close() must not wait for the peer
    if (!this.busy || this.drainTimer) this.close();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.busy) {
      // paused: a chunk already on its way is kept for later (at most one socket chunk)
      this.rest = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
      return;
    }
    this.windowBytes += chunk.length;
    let off = 0;
    while (off < chunk.length && !this.busy && !this.closed) off += this.consume(chunk, off);
    if (off < chunk.length && !this.closed) this.rest = chunk.subarray(off);
    this.arm();
  }

  /** Takes bytes from `chunk` at `off` for the current state; returns how many it took. */
  private consume(chunk: Buffer, off: number): number {
    const s = this.state;
    if (s.kind === 'header' || s.kind === 'meta') {
      const want = s.kind === 'header' ? FRAME_HEADER_BYTES : s.frame.metaLength;
      const n = Math.min(want - s.length, chunk.length - off);
      if (n > 0) s.bytes.push(chunk.subarray(off, off + n));
      s.length += n;
      if (s.length === want) {
        const bytes = s.bytes.length === 1 ? s.bytes[0] : Buffer.concat(s.bytes, s.length);
        if (s.kind === 'header') this.onHeader(readFrameHeader(bytes));
        else this.onMeta(s.frame, bytes);
      }
      return n;
    }
    const n = Math.min(s.frame.bodyLength - s.length, chunk.length - off);
    const piece = chunk.subarray(off, off + n);
    try {
      s.scanner.push(piece);
    } catch (err) {
      if (!(err instanceof MessageDecodeError)) throw err;
      // as a POST /batch whose body is refused while it arrives: the status, then the connection closes
      this.refuse('stream_body_refused', replyFrame(this.opts.refusalOf(err), ''));
      return n;
    }
    try {
      s.sink.add(piece);
    } catch (err) {
      // an item over a POST / limit: the items before it are forwarded, answered, then the stream closes
      const rescued = this.opts.rescue(err);
      if (!rescued) throw err;
      this.closeAfterBatch = true;
      this.runBatch(s.meta, rescued);
      return n;
    }
    s.length += n;
    if (s.length === s.frame.bodyLength) this.runBatch(s.meta, s.sink.take());
    return n;
  }

  private onHeader(frame: FrameHeader): void {
    if (frame.type !== FRAME.batch) return this.refuse('stream_unknown_frame');
    if (frame.metaLength > MAX_META_BYTES) return this.refuse('stream_meta_too_large');
    // as a POST whose Content-Length is over the limit: 413, refused before a byte of it is allocated
    if (frame.bodyLength > this.opts.maxBodySize)
      return this.refuse('stream_frame_too_large', replyFrame(413, ''));
    this.state = { kind: 'meta', frame, bytes: [], length: 0 };
    if (frame.metaLength === 0) this.onMeta(frame, Buffer.alloc(0));
  }

  private onMeta(frame: FrameHeader, bytes: Buffer): void {
    const meta = parseMeta(bytes);
    if (!meta) return this.refuse('stream_bad_meta');
    this.state = {
      kind: 'body',
      frame,
      meta,
      sink: batchItems(frame.bodyLength, this.opts.itemScan),
      scanner: new FieldScanner('MediaBatch', this.opts.budget),
      length: 0,
    };
    if (frame.bodyLength === 0) this.runBatch(meta, this.state.sink.take());
  }

  private runBatch(meta: Record<string, string>, body: BatchBody): void {
    this.state = { kind: 'header', bytes: [], length: 0 };
    this.busy = true;
    this.socket.pause();
    this.disarm();
    streamBatchesTotal.inc();
    this.opts
      .batch(meta, body)
      .then(
        ({ status, text, close }) => {
          if (this.closed) return;
          this.socket.write(replyFrame(status, text));
          if (close || this.closeAfterBatch) {
            streamRefusalsTotal.inc({ code: 'stream_body_refused' });
            return this.close();
          }
          // refused as a whole request (credentials, certificate): answered, then closed like the POST
          if (status === 401 || status === 403 || status === 429) {
            streamRefusalsTotal.inc({ code: 'stream_batch_refused' });
            this.close();
          }
        },
        () => this.destroy(),
      )
      .finally(() => this.afterReply());
  }

  /**
   * The next frame is read only once the replies written so far are flushed: a peer that sends batches
   * and never reads its replies would otherwise grow the server's write buffer without bound (each
   * 9-byte empty frame buys a reply of ~40 bytes kept in memory). It is cut after idle_timeout unread.
   */
  private afterReply(): void {
    if (this.closed || !this.socket.writableNeedDrain) return this.resumeAfterBatch();
    this.drainTimer = setTimeout(() => {
      connectionTimeoutsTotal.inc({ phase: 'idle' });
      this.destroy();
    }, this.opts.limits.idleTimeoutMs);
    this.socket.once('drain', () => {
      clearTimeout(this.drainTimer);
      this.drainTimer = undefined;
      this.resumeAfterBatch();
    });
  }

  private resumeAfterBatch(): void {
    this.busy = false;
    if (this.draining) this.close();
    if (this.closed) return;
    const rest = this.rest;
    this.rest = undefined;
    if (rest) this.onData(rest);
    if (!this.busy && !this.closed) {
      this.socket.resume();
      this.arm();
    }
  }

  /** Refuses the stream: counted, the error frame (or the given answer) written, the socket closed. */
  private refuse(code: StreamRefusalCode, answer: Buffer = errorFrame(code)): void {
    streamRefusalsTotal.inc({ code });
    if (this.closed) return;
    this.socket.write(answer);
    this.close();
  }

  /** Timers: idle between frames, progress and minimum rate inside one. */
  private arm(): void {
    if (this.closed || this.busy) return;
    const s = this.state;
    const inFrame = !(s.kind === 'header' && s.length === 0);
    const { idleTimeoutMs, bodyProgressTimeoutMs, minBodyRate } = this.opts.limits;
    const phase = inFrame ? 'body_progress' : 'idle';
    // refreshed per chunk rather than replaced: a 1 MiB frame arrives in dozens of chunks
    if (this.timer && this.timerPhase === phase) this.timer.refresh();
    else {
      clearTimeout(this.timer);
      this.timerPhase = phase;
      this.timer = setTimeout(
        () => {
          connectionTimeoutsTotal.inc({ phase });
          this.destroy();
        },
        inFrame ? bodyProgressTimeoutMs : idleTimeoutMs,
      );
    }
    const windowMinimum = (minBodyRate * bodyProgressTimeoutMs) / 1000;
    if (inFrame && windowMinimum > 0 && !this.rateTimer) {
      this.windowBytes = 0;
      this.rateTimer = setInterval(() => {
        if (this.windowBytes > 0 && this.windowBytes < windowMinimum) {
          connectionTimeoutsTotal.inc({ phase: 'body_rate' });
          this.destroy();
        }
        this.windowBytes = 0;
      }, bodyProgressTimeoutMs);
    } else if (!inFrame && this.rateTimer) {
      clearInterval(this.rateTimer);
      this.rateTimer = undefined;
    }
  }

  private disarm(): void {
    clearTimeout(this.timer);
    clearInterval(this.rateTimer);
    clearTimeout(this.drainTimer);
    this.timer = undefined;
    this.rateTimer = undefined;
    this.drainTimer = undefined;
  }

  /** Half-closes after what was written; the socket goes once the peer closes or soon after. */
  private close(): void {
    if (this.closed) return;
    this.end();
    this.socket.end();
    this.socket.resume(); // whatever else the peer sends is read and dropped until it closes
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private destroy(): void {
    this.end();
    this.socket.destroy();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    this.opts.onClose?.();
  }
}

/** How long a closing stream may take to flush its last frame before it is cut. */
const CLOSE_GRACE_MS = 2000;

/** The meta block: a JSON object of the known per-item headers, string values only; else undefined. */
function parseMeta(bytes: Buffer): Record<string, string> | undefined {
  if (bytes.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!STREAM_META_HEADERS.has(k) || typeof v !== 'string') return undefined;
    out[k] = v;
  }
  return out;
}
