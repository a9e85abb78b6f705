// Drops exact duplicates of messages this server already forwarded. A spooling client (src/spool/) names
// each Media with (instance id, sequence number) in a header (src/spool/identity.ts); after a client crash
// the request that was in flight is sent again with the same names. The window is bounded: per instance the
// last WINDOW sequence numbers (a bitmap, 8 KiB), at most MAX_INSTANCES instances. Instances are scoped by
// who the request proved to be (users, client certificate), so one client cannot suppress another's messages
// by reusing its instance id; when the table is full the scope holding the most instances gives up its least
// recently seen one, so a peer churning through fresh ids only pushes out its own. A message outside the
// window is forwarded (at-least-once), never lost.
import { Counter } from 'prom-client';
import { family } from '../metrics/index.js';
import { STATUS } from '../contract/index.js';

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
      else this.clearRange(this.highest + 1, seq);
      this.highest = seq;
    }
    const i = seq % WINDOW;
    this.bits[i >> 3] |= 1 << (i & 7);
  }

  /**
   * Clears the bits of from..to (inclusive, fewer than WINDOW numbers): whole bytes with fill(), so a peer
   * whose numbers jump by almost the window costs a memset, not a loop of 65,535 steps per message.
   */
  private clearRange(from: number, to: number): void {
    let s = from;
    for (; s <= to && s % 8 !== 0; s++) this.clear(s);
    while (s + 8 <= to + 1) {
      const byte = (s % WINDOW) >> 3;
      const bytes = Math.min((to + 1 - s) >> 3, WINDOW / 8 - byte);
      this.bits.fill(0, byte, byte + bytes);
      s += bytes * 8;
    }
    for (; s <= to; s++) this.clear(s);
  }

  private clear(seq: number): void {
    const i = seq % WINDOW;
    this.bits[i >> 3] &= ~(1 << (i & 7));
  }
}

/** The windows by scope, each scope's Map in least-recently-seen-first order; MAX_INSTANCES in all. */
class ScopedWindows {
  private readonly scopes = new Map<string, Map<string, SeqWindow>>();
  private size = 0;

  get(scope: string, instance: string): SeqWindow | undefined {
    const windows = this.scopes.get(scope);
    const w = windows?.get(instance);
    if (w) {
      windows!.delete(instance);
      windows!.set(instance, w);
    }
    return w;
  }

  add(scope: string, instance: string): SeqWindow {
    if (this.size >= MAX_INSTANCES) this.evictFromLargestScope();
    let windows = this.scopes.get(scope);
    if (!windows) this.scopes.set(scope, (windows = new Map()));
    const w = new SeqWindow();
    windows.set(instance, w);
    this.size++;
    return w;
  }

  private evictFromLargestScope(): void {
    let largest: [string, Map<string, SeqWindow>] | undefined;
    for (const entry of this.scopes) if (!largest || entry[1].size > largest[1].size) largest = entry;
    if (!largest) return;
    const [scope, windows] = largest;
    windows.delete(windows.keys().next().value!);
    this.size--;
    if (windows.size === 0) this.scopes.delete(scope);
  }
}

export class DuplicateFilter {
  private readonly windows = new ScopedWindows();
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
    const flightKey = `${scope}\u0000${instance}\u0000${seq}`;
    const earlier = this.inFlight.get(flightKey);
    if (earlier && (await earlier) === STATUS.delivered) return this.duplicate();
    if (this.windows.get(scope, instance)?.has(seq)) return this.duplicate();
    const run = forward();
    this.inFlight.set(flightKey, run);
    try {
      const status = await run;
      if (status === STATUS.delivered) {
        (this.windows.get(scope, instance) ?? this.windows.add(scope, instance)).add(seq);
      }
      return status;
    } finally {
      if (this.inFlight.get(flightKey) === run) this.inFlight.delete(flightKey);
    }
  }

  private duplicate(): number {
    duplicatesDroppedTotal.inc();
    return STATUS.delivered;
  }
}
