// The buffers that records read back from disk land in, reused once the sender is done with their message.
// A fresh 1 MiB Buffer per record read back cost more CPU than the read itself (page faults on first touch:
// ~0.5 ms per MiB against ~0.05 ms for a read into a buffer already used, measured with pread from the page
// cache), and every one of them was garbage that only a full collection frees: the client's Buffer memory
// climbed far above the window it was reading for. Reused buffers are neither.
//
// The pool does no accounting of its own beyond the bytes it keeps free: the spool (spool.ts) says how much
// room its memory budget has left for each take, so "window + free buffers <= budget" holds by construction.

/** Records shorter than this are read into ordinary Buffers (Node's own pool below 4 KiB, malloc above). */
export const POOLED_MIN_BYTES = 16 * 1024;
/** Pooled buffers are a whole number of pages; a free buffer up to twice a record's size is reused for it. */
const GRANULE = 4 * 1024;

export class ReadBuffers {
  /** free buffers, any order; few (a window's worth at most) */
  private readonly free: Buffer[] = [];
  private freeTotal = 0;

  /** Bytes of the buffers kept free. */
  freeBytes(): number {
    return this.freeTotal;
  }

  /**
   * A buffer of at least `length` bytes, or undefined when the `room` left in the memory budget (free
   * buffers included) does not allow one now. Free buffers that do not fit are let go to make room.
   */
  take(length: number, room: number): Buffer | undefined {
    if (length < POOLED_MIN_BYTES) return length <= room ? Buffer.allocUnsafe(length) : undefined;
    const best = this.bestFit(length);
    if (best >= 0) {
      const b = this.free[best];
      this.free.splice(best, 1);
      this.freeTotal -= b.length;
      return b;
    }
    const size = Math.ceil(length / GRANULE) * GRANULE;
    while (this.freeTotal + size > room && this.free.length > 0) this.freeTotal -= this.free.pop()!.length;
    if (this.freeTotal + size > room) return undefined;
    // allocUnsafeSlow: never a slice of Node's shared pool, so the whole buffer is ours to reuse
    return Buffer.allocUnsafeSlow(size);
  }

  /** Takes back a buffer from take() whose message is done with; kept while `room` allows. */
  give(b: Buffer, room: number): void {
    if (b.length < POOLED_MIN_BYTES) return;
    if (this.freeTotal + b.length > room) return;
    this.free.push(b);
    this.freeTotal += b.length;
  }

  /** Lets every free buffer go (the budget is needed for something else). */
  clear(): void {
    this.free.length = 0;
    this.freeTotal = 0;
  }

  /** The smallest free buffer of at least `length` bytes and at most twice that, or -1. */
  private bestFit(length: number): number {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const n = this.free[i].length;
      if (n < length || n > 2 * length + GRANULE) continue;
      if (best < 0 || n < this.free[best].length) best = i;
    }
    return best;
  }
}
