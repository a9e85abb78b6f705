// The gateway client: Savant reader → bounded queue → ordered HTTP sender, plus /health and /metrics.
// The queue holds at most inStream.inflightOps messages that were read and not yet delivered or
// dead-lettered; while it is full the reader is not asked for more, so back-pressure reaches ZeroMQ
// (its high-water mark) instead of memory. With `ack: on_delivery` a message is acknowledged upstream only
// once the server answered 200 (or it was dead-lettered), so an upstream OK means "delivered".
import type { ClientConfig } from '../config/types.js';
import { aggregateHealth, type HealthReport, type PartHealth } from '../health/health.js';
import {
  bytesTotal,
  clientRetriesTotal,
  deadLetteredTotal,
  messagesTotal,
  setClientQueueDepth,
} from '../metrics/registry.js';
import { hotSlotsBy } from '../metrics/hot.js';
import { encodedMediaLength, type Media } from '../savant/media.js';
import { NOTHING_OWED, SavantReader, type ReadResult } from '../savant/reader.js';
import { FpsStatistics } from '../stats/fps.js';
import { logger } from '../util/log.js';
import { DeadLetterDir } from './dead-letter.js';
import { GatewayHttp } from './http.js';
import { Sender, type Completion } from './sender.js';
import { clientFamilies, exportHalfFamilies } from '../ops/families.js';
import { startOpsListener, type OpsListener } from '../ops/listener.js';

const log = logger('media_gateway::client');

/** Per-message counters of the client (see metrics/hot.ts). */
const countedMessages = hotSlotsBy(messagesTotal, { side: 'client' }, 'outcome');
const countedBytes = hotSlotsBy(bytesTotal, { side: 'client' }, 'outcome');

export interface ClientStats {
  /** messages read from ZeroMQ and queued for delivery */
  read: number;
  /** answered 200 by the server */
  delivered: number;
  /** refused for good (400/413) and written to the dead-letter directory */
  deadLettered: number;
  /** delivery attempts repeated after a failure */
  retries: number;
}

export interface RunningClient {
  /** the /health port actually bound (cfg.port may be 0) */
  port: number;
  /** Stops reading, delivers what is queued within drainTimeoutMs (default cfg.shutdownTimeoutMs), closes. */
  stop(opts?: { drainTimeoutMs?: number }): Promise<void>;
  health(): HealthReport;
  stats(): ClientStats;
  /** the operations listener (`ops` in the configuration), when there is one */
  ops?: OpsListener;
}

export async function startClient(cfg: ClientConfig): Promise<RunningClient> {
  exportHalfFamilies(clientFamilies(cfg));
  const http = await GatewayHttp.open(cfg);
  let reader: SavantReader;
  try {
    reader = await SavantReader.open(cfg.inStream);
  } catch (err) {
    await http.close();
    throw err;
  }
  const pipeline = new ClientPipeline(cfg, http, reader);
  try {
    return await pipeline.start();
  } catch (err) {
    await pipeline.closeAll();
    throw err;
  }
}

class ClientPipeline {
  private readonly counts: ClientStats = { read: 0, delivered: 0, deadLettered: 0, retries: 0 };
  private readonly sender: Sender;
  private readonly fps?: FpsStatistics;
  private pending = 0;
  private wakeups: (() => void)[] = [];
  private stopping = false;
  private stopped?: Promise<void>;
  private readerFailure?: string;
  private readLoop: Promise<void> = Promise.resolve();
  private readerClosed = false;
  /** closed last, in reverse order of opening */
  private readonly cleanup: (() => Promise<void>)[];

  constructor(
    private readonly cfg: ClientConfig,
    http: GatewayHttp,
    private readonly reader: SavantReader,
  ) {
    this.cleanup = [() => http.close()];
    this.fps = cfg.statistics ? new FpsStatistics(cfg.statistics) : undefined;
    this.sender = new Sender({
      transport: cfg.transport,
      retry: cfg.retry,
      http,
      deadLetters: new DeadLetterDir(cfg.deadLetterDir),
      onComplete: (c) => this.completed(c),
      presentsCertificate: !!cfg.tls?.identity,
      onRetry: (reason) => {
        this.counts.retries++;
        clientRetriesTotal.inc({ reason });
      },
    });
  }

  async start(): Promise<RunningClient> {
    // The original's status port answers the same routes as the operations listener; /metrics moves to
    // the latter when there is one.
    const probes = {
      health: () => this.health(),
      notReady: () => this.notReady(),
      notLive: () => this.notLive(),
    };
    const status = await startOpsListener(this.cfg, probes, { metrics: !this.cfg.ops });
    this.cleanup.push(() => status.close());
    const ops = this.cfg.ops
      ? await startOpsListener(this.cfg.ops, probes, { metrics: true, name: 'operations' })
      : undefined;
    if (ops) this.cleanup.push(() => ops.close());
    setClientQueueDepth(0);
    this.readLoop = this.runReader();
    return {
      port: status.port,
      stop: (opts) => this.stop(opts?.drainTimeoutMs ?? this.cfg.shutdownTimeoutMs),
      health: () => this.health(),
      stats: () => ({ ...this.counts }),
      ops,
    };
  }

  /** Readiness (docs/metrics.md, "Probes"): a stopped reader or a shutdown means no message gets through. */
  private notReady(): string[] {
    return [...this.notLive(), ...(this.stopping ? ['shutting down'] : [])];
  }

  /** A reader that failed is not restarted by the client: only a restart brings reading back. */
  private notLive(): string[] {
    return this.readerFailure ? [`reader stopped: ${this.readerFailure}`] : [];
  }

  private health(): HealthReport {
    const reader: PartHealth = this.readerFailure
      ? { healthy: false, reasons: [`reader stopped: ${this.readerFailure}`] }
      : { healthy: true, reasons: [] };
    return aggregateHealth([{ health: () => reader }, this.sender]);
  }

  private async runReader(): Promise<void> {
    while (!this.stopping) {
      if (this.pending >= this.cfg.inStream.inflightOps) {
        await this.nextChange();
        continue;
      }
      let result: ReadResult | undefined;
      try {
        result = await this.reader.receive();
      } catch (err) {
        if (this.readerClosed) return;
        // Like the original, a reader error ends reading; unlike it, /health says so.
        this.readerFailure = (err as Error).message;
        log.error({ err: this.readerFailure }, 'reader failed; no more messages will be read');
        return;
      }
      if (!result) return;
      this.accept(result);
    }
  }

  private accept(result: ReadResult): void {
    if (result.kind !== 'message') {
      messagesTotal.inc({ side: 'client', outcome: 'dropped' });
      const topic = 'topic' in result ? result.topic.toString('utf8') : undefined;
      const error = result.kind === 'invalid' ? result.error.message : undefined;
      const parts = result.kind === 'too_short' ? result.parts : undefined;
      log.warn({ kind: result.kind, topic, error, parts }, 'dropped a read result that is not a message');
      return;
    }
    const bytes = result.message.length + result.data.reduce((n, d) => n + d.length, 0);
    // Not encoded here: the sender writes the frames into the request body without copying them.
    const media: Media = { message: result.message, topic: result.topic, data: result.data };
    this.counts.read++;
    this.pending++;
    setClientQueueDepth(this.pending);
    countedMessages('read').add();
    countedBytes('read').add(bytes);
    this.fps?.start();
    this.sender.push({
      topic: result.topic,
      media,
      mediaLength: encodedMediaLength(media),
      bytes,
      ack: result.ack,
    });
  }

  /** Synchronous unless an acknowledgement has to go upstream first (REP/ROUTER with on_delivery). */
  private completed(c: Completion): void | Promise<void> {
    if (c.item.ack === NOTHING_OWED) return this.finish(c);
    return c.item
      .ack()
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'could not acknowledge a delivered message upstream');
      })
      .then(() => this.finish(c));
  }

  private finish(c: Completion): void {
    if (c.outcome === 'delivered') {
      this.counts.delivered++;
      this.fps?.end();
    } else {
      this.counts.deadLettered++;
      deadLetteredTotal.inc({ status: String(c.status) });
    }
    countedMessages(c.outcome).add();
    countedBytes(c.outcome).add(c.item.bytes);
    this.pending--;
    setClientQueueDepth(this.pending);
    this.notify();
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.wakeups.push(resolve));
  }

  private notify(): void {
    const wakeups = this.wakeups;
    this.wakeups = [];
    for (const wake of wakeups) wake();
  }

  /** Closes the reader, the listeners and the HTTP pool. */
  async closeAll(): Promise<void> {
    this.fps?.close();
    await this.closeReader().catch((err: Error) =>
      log.warn({ err: err.message }, 'error closing the reader'),
    );
    for (const close of this.cleanup.reverse()) {
      await close().catch((err: Error) => log.warn({ err: err.message }, 'error while closing'));
    }
  }

  private async closeReader(): Promise<void> {
    if (this.readerClosed) return;
    this.readerClosed = true;
    await this.reader.close();
  }

  private stop(drainTimeoutMs: number): Promise<void> {
    this.stopped ??= this.shutdown(drainTimeoutMs);
    return this.stopped;
  }

  private async shutdown(drainTimeoutMs: number): Promise<void> {
    this.stopping = true;
    this.notify();
    // on_read: everything queued is already acknowledged upstream and must be delivered; unread messages
    // were not, so the socket can go now. on_delivery: acks still need the socket, so it closes after draining.
    if (this.cfg.inStream.ack === 'on_read') await this.closeReader();
    const drained = await this.drain(drainTimeoutMs);
    if (!drained) {
      log.warn(
        { undelivered: this.pending, timeoutMs: drainTimeoutMs },
        'shutdown timeout reached; queued messages were not delivered',
      );
      messagesTotal.inc({ side: 'client', outcome: 'undelivered' }, this.pending);
    }
    await this.sender.abort();
    await this.closeAll();
    await this.readLoop;
    log.info({ ...this.counts }, 'client stopped');
  }

  /** Resolves true once nothing is queued, false when the timeout comes first. */
  private async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.nextChange().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), left))),
      ]);
      clearTimeout(timer);
      if (timedOut) return this.pending === 0;
    }
    return true;
  }
}
