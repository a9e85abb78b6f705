// The ROUTER reader's routing-id filter: one current sender per topic; a sender that
// was replaced by a newer one for the same topic is refused while it is remembered (LRU of
// `sourceCacheSize` superseded (topic, routing id) pairs), so a stale producer cannot interleave frames.
import { LruMap } from '../util/lru.js';

// latin1 maps every byte to one char, so arbitrary binary topics/ids become exact string keys
const key = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class RoutingIdCache {
  private readonly current = new Map<string, string>();
  private readonly superseded: LruMap<string, true>;

  constructor(size: number) {
    this.superseded = new LruMap(size);
  }

  /** True when a message on `topic` from `routingId` is allowed. */
  allow(topic: Uint8Array, routingId: Uint8Array): boolean {
    const t = key(topic);
    const r = key(routingId);
    const cur = this.current.get(t);
    if (cur === undefined || cur === r) {
      this.current.set(t, r);
      return true;
    }
    // the length prefix keeps (topic, id) pairs unambiguous whatever bytes they contain
    const pair = (id: string) => `${t.length}:${t}${id}`;
    if (this.superseded.has(pair(r))) return false;
    this.superseded.set(pair(cur), true);
    this.current.set(t, r);
    return true;
  }
}

/** Topics refused for a while; entries are only added by blacklist(). */
export class SourceBlacklist {
  private readonly until: LruMap<string, number>;

  constructor(
    size = 1024,
    private readonly ttlMs = 10_000,
  ) {
    this.until = new LruMap(size);
  }

  blacklist(topic: Uint8Array, now = Date.now()): void {
    this.until.set(key(topic), now + this.ttlMs);
  }

  isBlacklisted(topic: Uint8Array, now?: number): boolean {
    // asked for every message read: with nothing blacklisted (the usual case) no key is built
    if (this.until.size === 0) return false;
    const k = key(topic);
    const t = this.until.get(k);
    if (t === undefined) return false;
    if (t > (now ?? Date.now())) return true;
    this.until.delete(k);
    return false;
  }
}
