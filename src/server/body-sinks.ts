// Where a request body goes as it arrives (readBodyInto in ./http-io.ts feeds one of these). A `POST /batch`
// body with a Content-Length is split on the MediaBatch framing as it arrives and each item is copied once
// into a buffer of exactly its size, so the server forwards each item's frames from its own buffer (ZeroMQ
// takes them without a copy) and frees it when sent. One body buffer doubling from a small start copied every
// byte about twice and kept the whole batch alive until its last item was sent (docs/benchmark.md, "Where
// the CPU goes"). A `POST /` body keeps that doubling buffer: measured, it was the cheaper of the two there.
//
// Memory follows the bytes the peer has sent, never its declared lengths: a request never holds buffers
// larger than the bytes it has sent plus the larger of FIRST_BODY_CHUNK and those bytes (the same 2x bound
// as a doubling buffer). Until an item's full size fits that bound, its chunks are held as they came (they
// are the peer's bytes, already in memory) and copied once the buffer can be allocated whole.
import { BATCH_ITEM_TAG, fieldHeader } from '../savant/media.js';

/** What a request may have allocated beyond the bytes it has sent, at least (more once it has sent more). */
export const FIRST_BODY_CHUNK = 64 * 1024;

/**
 * Most bytes of socket chunks held for one buffer before it is allocated. Past this an item grows by
 * doubling (copying) instead: a long hold keeps many socket buffers alive into full collections.
 */
const HOLD_LIMIT = 1024 * 1024;

/** A body as it arrives: `length` bytes were added; `take` is called once, after the last byte. */
export interface BodySink<T> {
  readonly length: number;
  add(chunk: Buffer): void;
  take(): T;
}

/**
 * One buffer of a known final `size`, filled as bytes arrive, with each byte copied once when the peer
 * sends at its usual pace. `before` is how many bytes the request had sent before this buffer's first
 * byte: a peer that has sent much may have a large buffer allocated at once.
 */
export class ExactBuffer {
  private buffer?: Buffer;
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** bytes added so far */
  filled = 0;

  constructor(
    readonly size: number,
    private readonly before: number,
  ) {}

  add(chunk: Buffer): void {
    const end = this.filled + chunk.length;
    if (this.buffer && end <= this.buffer.length) {
      chunk.copy(this.buffer, this.filled);
      this.filled = end;
      return;
    }
    const allowed = Math.min(this.size, end + Math.max(FIRST_BODY_CHUNK, this.before + end));
    if (allowed < this.size && !this.buffer && this.heldBytes + chunk.length <= HOLD_LIMIT) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
    } else {
      this.grow(allowed);
      chunk.copy(this.buffer!, this.filled);
    }
    this.filled = end;
  }

  private grow(capacity: number): void {
    const grown = Buffer.allocUnsafe(capacity);
    if (this.buffer) {
      this.buffer.copy(grown, 0, 0, this.filled);
    } else {
      let at = 0;
      for (const c of this.held) at += c.copy(grown, at);
      this.held = [];
      this.heldBytes = 0;
    }
    this.buffer = grown;
  }

  /** The bytes added so far: the whole buffer once `filled === size`. */
  take(): Buffer {
    if (!this.buffer) return this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.filled);
    return this.filled === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.filled);
  }
}

/** Chunks kept and joined once at the end: a body without a Content-Length. */
class JoinedChunks implements BodySink<Buffer> {
  private readonly chunks: Buffer[] = [];
  length = 0;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  take(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
  }
}

/**
 * A whole body (`POST /`, or a batch whose framing is unusual) in one buffer that grows as bytes arrive: it
 * starts at FIRST_BODY_CHUNK (or the declared length when smaller) and doubles up to the declared length.
 * An ExactBuffer of the declared length was measured here too and was slower for single-message bodies
 * (docs/benchmark.md, "Where the CPU goes"), so this path keeps the doubling buffer.
 */
class DoublingBuffer implements BodySink<Buffer> {
  private buffer: Buffer;
  length = 0;

  constructor(private readonly declared: number) {
    this.buffer = Buffer.allocUnsafe(Math.min(declared, FIRST_BODY_CHUNK));
  }

  add(chunk: Buffer): void {
    const needed = this.length + chunk.length;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.declared, Math.max(needed, this.buffer.length * 2)));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.length);
    this.length += chunk.length;
  }

  take(): Buffer {
    return this.length === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.length);
  }
}

/** A whole body in one buffer: grown up to its declared length when there is one (Node's parser enforces it). */
export function bodyBuffer(declared: number | undefined): BodySink<Buffer> {
  if (declared === undefined || !Number.isSafeInteger(declared)) return new JoinedChunks();
  return new DoublingBuffer(declared);
}

/**
 * A MediaBatch body: its items, each in its own buffer, or (anything unusual) the whole body to decode.
 * `refused`: the item after `items` was refused by its scan while it arrived; the rest was not read.
 */
export type BatchBody = { items: Buffer[]; refused?: unknown } | { body: Buffer };

/** Sees an item's bytes as they arrive; throwing refuses that item (and stops the body there). */
export interface ItemScan {
  push(bytes: Uint8Array): void;
}

/** Thrown by a batch sink whose item scan refused an item: the items before it, whole, and why. */
export class ItemRefused extends Error {
  constructor(
    readonly items: Buffer[],
    readonly reason: unknown,
  ) {
    super('a batch item was refused while it arrived');
  }
}

/** Longest length prefix taken on the fast path: 5 varint bytes hold any length up to 2^35. */
const MAX_LENGTH_BYTES = 5;

/**
 * Splits a MediaBatch body into its items as it arrives. Only the framing our client writes is taken on
 * this path: items (`0a`, a minimal length varint, the bytes) one after another. Anything else (another
 * field, a longer varint, an item longer than the rest of the body, a body that ends inside a prefix)
 * turns the sink into a plain body buffer holding the same bytes, and decodeMediaBatch decides as before,
 * with the same errors.
 */
class BatchItems implements BodySink<BatchBody> {
  length = 0;
  private readonly items: Buffer[] = [];
  private item?: ExactBuffer;
  /** bytes of the item prefix read so far (tag and length) */
  private prefix: number[] = [];
  private fallback?: BodySink<Buffer>;
  private scan?: ItemScan;

  constructor(
    private readonly declared: number,
    private readonly scanItem?: () => ItemScan,
  ) {}

  add(chunk: Buffer): void {
    if (this.fallback) {
      this.fallback.add(chunk);
      this.length += chunk.length;
      return;
    }
    let pos = 0;
    while (pos < chunk.length) {
      const item = this.item;
      if (item) {
        const n = Math.min(item.size - item.filled, chunk.length - pos);
        const bytes = n === chunk.length ? chunk : chunk.subarray(pos, pos + n);
        this.scanned(bytes);
        item.add(bytes);
        pos += n;
        if (item.filled === item.size) this.finishItem();
        continue;
      }
      const at = this.length + pos;
      this.prefix.push(chunk[pos++]);
      if (!this.readPrefix(at + 1)) {
        this.fallBack(chunk.subarray(pos));
        return;
      }
    }
    this.length += chunk.length;
  }

  /** Takes the prefix byte just read; `consumed` bytes of the body are read. False: leave the fast path. */
  private readPrefix(consumed: number): boolean {
    const p = this.prefix;
    if (p[0] !== BATCH_ITEM_TAG) return false;
    if (p.length === 1) return true;
    const last = p[p.length - 1];
    if (last >= 0x80) return p.length <= MAX_LENGTH_BYTES;
    if (last === 0 && p.length > 2) return false; // not minimal: a writer other than ours
    let size = 0;
    for (let i = p.length - 1; i >= 1; i--) size = size * 128 + (p[i] & 0x7f);
    if (size > this.declared - consumed) return false;
    this.item = new ExactBuffer(size, consumed);
    this.scan = this.scanItem?.();
    if (size === 0) this.finishItem();
    return true;
  }

  /** Runs the item's scan on its next bytes; a refusal ends the body with the whole items before it. */
  private scanned(bytes: Buffer): void {
    try {
      this.scan?.push(bytes);
    } catch (reason) {
      throw new ItemRefused(this.items.slice(), reason);
    }
  }

  private finishItem(): void {
    this.items.push(this.item!.take());
    this.item = undefined;
    this.prefix = [];
  }

  /**
   * The bytes so far, exactly as they came (the fast path only takes minimal prefixes), then `rest`, kept
   * as pieces and joined once at the end: no second copy of the items while the rest arrives.
   */
  private fallBack(rest: Buffer): void {
    const body = new JoinedChunks();
    for (const item of this.items) {
      body.add(Buffer.from(fieldHeader(BATCH_ITEM_TAG, item.length)));
      if (item.length > 0) body.add(item);
    }
    if (this.prefix.length > 0) body.add(Buffer.from(this.prefix));
    if (this.item && this.item.filled > 0) body.add(this.item.take());
    if (rest.length > 0) body.add(rest);
    this.items.length = 0;
    this.item = undefined;
    this.fallback = body;
    this.length = body.length;
  }

  take(): BatchBody {
    if (!this.fallback && (this.item || this.prefix.length > 0)) this.fallBack(Buffer.alloc(0));
    return this.fallback ? { body: this.fallback.take() } : { items: this.items };
  }
}

/**
 * A MediaBatch body: split into items as it arrives when it has a Content-Length, else kept whole. With
 * `scanItem`, each item split this way is scanned as it arrives (add throws ItemRefused).
 */
export function batchItems(declared: number | undefined, scanItem?: () => ItemScan): BodySink<BatchBody> {
  if (declared !== undefined && Number.isSafeInteger(declared)) return new BatchItems(declared, scanItem);
  const whole = bodyBuffer(declared);
  return {
    get length() {
      return whole.length;
    },
    add: (chunk) => whole.add(chunk),
    take: () => ({ body: whole.take() }),
  };
}
