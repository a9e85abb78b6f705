// A size-bounded LRU map that counts evictions and, with `usage` configured, warns like the original when
// evictions per period exceed the threshold: a cache that is too small for its load is worth knowing about.
import type { CacheConfig } from '../config/types.js';
import { logger } from '../util/log.js';

const log = logger('media_gateway::auth');

export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private evictedInPeriod = 0;
  private timer?: NodeJS.Timeout;
  /** evictions since creation */
  evicted = 0;

  constructor(
    readonly name: string,
    private readonly cfg: CacheConfig,
    warn: (msg: string) => void = (msg) => log.warn(msg),
  ) {
    if (cfg.usage) {
      const { periodMs, evictedThreshold } = cfg.usage;
      this.timer = setInterval(() => {
        const n = this.evictedInPeriod;
        this.evictedInPeriod = 0;
        if (n > evictedThreshold) {
          warn(
            `Evicted entities threshold is exceeded for ${name}: ${n} per ${(periodMs / 1000).toFixed(3)} seconds`,
          );
        }
      }, periodMs);
      this.timer.unref();
    }
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.cfg.size) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
      this.evicted++;
      this.evictedInPeriod++;
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  clear(): void {
    this.map.clear();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
