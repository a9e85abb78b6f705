// Drops exact duplicates of messages this server already forwarded. A spooling client (src/spool/) names
// each Media with (instance id, sequence number) in a header (src/spool/identity.ts); after a client crash
// the request that was in flight is sent again with the same names. The window is bounded: per instance the
// last WINDOW sequence numbers (a bitmap, 8 KiB), at most MAX_INSTANCES instances (least recently seen
// evicted). Instances are scoped by the authenticated user(s), so one client cannot suppress another's
// messages by reusing its instance id. A message outside the window is forwarded (at-least-once), never lost.
import { Counter } from 'prom-client';
import { family } from '../metrics/index.js';
import { LruMap } from '../util/lru.js';

/** Sequence numbers remembered per instance. */
export const WINDOW = 65536;
export const MAX_INSTANCES = 1024;

export const duplicatesDroppedTotal = family(
  'server',
  new Counter({
    name: 'media_gateway_duplicates_dropped_total',
    help: 'Messages not forwarded because this server already forwarded them (same client instance and sequence)',
    registers: [],
  }),
);

/** The last WINDOW sequence numbers of one instance, as bits; `highest` is the largest one seen. */
class SeqWindow {
  private highest = -1;
  private readonly bits = new Uint8Array(WINDOW / 8);

  has(seq: number): boolean {
    if (seq > this.highest || seq <= this.highest - WINDOW) return false;
    const i = seq % WINDOW;
    return (this.bits[i >> 3] & (1 << (i & 7))) !== 0;
  }

  add(seq: number): void {
    if (seq <= this.highest - WINDOW) return;
    if (seq > this.highest) {
      if (seq - this.highest >= WINDOW) this.bits.fill(0);
      else for (let s = this.highest + 1; s < seq; s++) this.clear(s);
      this.clear(seq);
      this.highest = seq;
    }
    const i = seq % WINDOW;
    this.bits[i >> 3] |= 1 << (i & 7);
  }

  private clear(seq: number): void {
    const i = seq % WINDOW;
    this.bits[i >> 3] &= ~(1 << (i & 7));
  }
}

export class DuplicateFilter {
  private readonly windows = new LruMap<string, SeqWindow>(MAX_INSTANCES);
  /** forwards under way, so a copy arriving meanwhile waits for the original's outcome */
  private readonly inFlight = new Map<string, Promise<number>>();

  /**
   * Runs `forward` for the message (scope, instance, seq) unless it was forwarded before (then 200 without
   * forwarding). `forward` resolves to the HTTP status; only a 200 marks the message as forwarded.
   */
  async forward(
    scope: string,
    instance: string,
    seq: number,
    forward: () => Promise<number>,
  ): Promise<number> {
    const key = `${scope}\u0000${instance}`;
    const flightKey = `${key}\u0000${seq}`;
    const earlier = this.inFlight.get(flightKey);
    if (earlier && (await earlier) === 200) return this.duplicate();
    if (this.windows.get(key)?.has(seq)) return this.duplicate();
    const run = forward();
    this.inFlight.set(flightKey, run);
    try {
      const status = await run;
      if (status === 200) {
        let window = this.windows.get(key);
        if (!window) this.windows.set(key, (window = new SeqWindow()));
        window.add(seq);
      }
      return status;
    } finally {
      if (this.inFlight.get(flightKey) === run) this.inFlight.delete(flightKey);
    }
  }

  private duplicate(): number {
    duplicatesDroppedTotal.inc();
    return 200;
  }
}
