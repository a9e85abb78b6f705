// An in-memory mirror of every record under one etcd prefix, loaded with a range read and kept current
// with a WATCH from the next revision (no polling), so a new, changed or deleted record takes effect as
// soon as etcd reports it. When etcd goes away the mirror keeps serving what it has, reports itself
// disconnected, and re-reads + re-watches on its own once etcd answers again.
import { GatewayError } from '../errors/index.js';
import { EventEmitter } from 'node:events';
import type { Etcd3, Watcher } from 'etcd3';
import { logger } from '../util/index.js';
import { grpcCause } from './etcd-client.js';

const log = logger('media_gateway::auth::etcd');

export interface StoredValue {
  value: Buffer;
  /** etcd mod_revision: identifies this version of the record */
  revision: string;
}

export class StoreUnavailableError extends GatewayError {
  declare readonly code: 'user_store_unavailable';
  constructor(message: string) {
    super('user_store_unavailable', message);
  }
}

export interface RecordStoreEvents {
  /** a record was created, changed or deleted (name relative to the prefix) */
  change: [name: string];
  /** the mirror is (re)loaded and watching */
  synced: [];
  /** etcd could not be reached; the mirror keeps serving what it has */
  disconnected: [reason: string];
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

export class EtcdRecordStore extends EventEmitter<RecordStoreEvents> {
  private records = new Map<string, StoredValue>();
  private watcher?: Watcher;
  private closed = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  /** true once the first full read succeeded: before that every lookup is a store error */
  loaded = false;
  connected = false;
  private reportedUnloaded = false;

  constructor(
    private readonly client: Etcd3,
    readonly prefix: string,
    private readonly connectTimeoutMs: number,
  ) {
    super();
  }

  /** Starts the sync loop and waits up to connect_timeout for the first load; never throws for etcd being down. */
  async start(): Promise<void> {
    const first = new Promise<void>((resolve) => {
      this.once('synced', resolve);
      setTimeout(resolve, this.connectTimeoutMs).unref();
    });
    this.loop = this.run();
    await first;
    if (!this.loaded)
      log.warn({ prefix: this.prefix }, 'etcd user store not loaded yet; requests get 500 until it is');
  }

  /** undefined = no such record. Throws StoreUnavailableError until the first load succeeded. */
  get(name: string): StoredValue | undefined {
    if (!this.loaded)
      throw new StoreUnavailableError(`records under ${this.prefix} not loaded from etcd yet`);
    return this.records.get(name);
  }

  get count(): number {
    return this.records.size;
  }

  /** Every record held now (none before the first load). */
  values(): IterableIterator<StoredValue> {
    return this.records.values();
  }

  private async run(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (!this.closed) {
      try {
        await this.syncAndWatch();
        delay = RETRY_MIN_MS;
      } catch (err) {
        if (this.closed) break;
        this.markDisconnected((err as Error).message);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
      if (this.closed) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One connected session: full read, watch from the next revision, return when the watch is lost. */
  private async syncAndWatch(): Promise<void> {
    const res = await this.client.getAll().prefix(this.prefix).exec();
    const fresh = new Map<string, StoredValue>();
    for (const kv of res.kvs) {
      fresh.set(kv.key.toString('utf8').slice(this.prefix.length), {
        value: kv.value,
        revision: kv.mod_revision,
      });
    }
    const changed = new Set<string>();
    for (const [name, v] of fresh) if (this.records.get(name)?.revision !== v.revision) changed.add(name);
    for (const name of this.records.keys()) if (!fresh.has(name)) changed.add(name);
    this.records = fresh;

    const creating = this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(BigInt(res.header.revision) + 1n))
      .create();
    const watcher = await withTimeout(creating, this.connectTimeoutMs, 'etcd watch not established', () => {
      // a watcher that connects after we gave up must not live on unobserved
      creating.then((w) => w.cancel()).catch(() => undefined);
    });
    if (this.closed) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.watcher = watcher;
    const lost = new Promise<string>((resolve) => {
      watcher.on('disconnected', (err) => resolve(err.message));
      watcher.on('error', (err) => resolve(err.message));
    });
    watcher.on('put', (kv) => {
      const name = kv.key.toString('utf8').slice(this.prefix.length);
      this.records.set(name, { value: kv.value, revision: kv.mod_revision });
      this.emit('change', name);
    });
    watcher.on('delete', (kv) => {
      const name = kv.key.toString('utf8').slice(this.prefix.length);
      this.records.delete(name);
      this.emit('change', name);
    });
    const wasDown = !this.connected && this.loaded;
    this.loaded = true;
    this.connected = true;
    if (wasDown)
      log.info({ prefix: this.prefix, records: fresh.size }, 'etcd user store reconnected and re-synced');
    for (const name of changed) this.emit('change', name);
    this.emit('synced');

    const reason = await Promise.race([lost, new Promise<string>((r) => (this.wake = () => r('closed')))]);
    this.watcher = undefined;
    // our own re-sync replaces the library's resume, so the old watcher goes
    await watcher.cancel().catch(() => undefined);
    if (!this.closed) throw new Error(reason);
  }

  private markDisconnected(rawReason: string): void {
    const reason = grpcCause(rawReason);
    const was = this.connected;
    this.connected = false;
    if (was) {
      log.warn(
        { prefix: this.prefix, reason, cachedRecords: this.records.size },
        'etcd unreachable; serving the records already loaded',
      );
    } else if (!this.loaded && !this.reportedUnloaded) {
      this.reportedUnloaded = true;
      log.warn({ prefix: this.prefix, reason }, 'etcd unreachable; no records loaded yet, retrying');
    }
    this.emit('disconnected', reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.watcher?.cancel().catch(() => undefined);
    await this.loop;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} within ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
