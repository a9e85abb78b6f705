// The auth caches: the shared LRU map plus an eviction count and, with `usage` configured, a warning like the
// original's when evictions per period exceed the threshold: a cache that is too small for its load is worth
// knowing about.
import type { CacheConfig } from '../config/index.js';
import { logger } from '../util/index.js';
import { LruMap } from '../util/lru.js';

const log = logger('media_gateway::auth');

export class LruCache<K, V> extends LruMap<K, V> {
  private evictedInPeriod = 0;
  private timer?: NodeJS.Timeout;
  /** evictions since creation */
  evicted = 0;

  constructor(
    readonly name: string,
    cfg: CacheConfig,
    warn: (msg: string) => void = (msg) => log.warn(msg),
  ) {
    super(cfg.size);
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

  protected override onEvict(): void {
    this.evicted++;
    this.evictedInPeriod++;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
