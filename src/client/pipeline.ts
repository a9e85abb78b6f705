// The gateway client: Savant reader → bounded queue → ordered HTTP sender, plus /health and /metrics.
// The queue holds at most inStream.inflightOps messages that were read and not yet delivered or
// dead-lettered; while it is full the reader is not asked for more, so back-pressure reaches ZeroMQ
// (its high-water mark) instead of memory. With `ack: on_delivery` a message is acknowledged upstream only
// once the server answered 200 (or it was dead-lettered), so an upstream OK means "delivered".
// With a `spool` section the queue is the spool on disk (src/spool/): a message is appended there before it
// counts as read, the sender is fed from it a window of inflightOps at a time, and it leaves the spool only
// when delivered or dead-lettered; `ack: on_persist` acknowledges once it is stored.
import type { ClientConfig } from '../config/index.js';
import { aggregateHealth, type HealthReport, type PartHealth } from '../health/index.js';
import {
  bytesTotal,
  clientRetriesTotal,
  deadLetteredTotal,
  messagesTotal,
  setClientQueueDepth,
  hotSlotsBy,
} from '../metrics/index.js';
import { encodedMediaLength, type Media } from '../savant/media.js';
import { NOTHING_OWED, SavantReader, type ReadResult } from '../savant/index.js';
import { FpsStatistics } from '../stats/index.js';
import { logger } from '../util/index.js';
import {
  formatMessageIds,
  MESSAGE_IDS_HEADER,
  observeSpool,
  Spool,
  spoolEvents,
  type Admission,
  type SpooledEntry,
} from '../spool/index.js';
import { DeadLetterDir } from './dead-letter.js';
import { GatewayHttp } from './http.js';
import { openServers } from './servers.js';
import type { PostingHttp } from './http.js';
import { Sender, type Completion, type SenderOptions } from './sender.js';
import type { ClientTracing } from '../telemetry/index.js';
import { clientFamilies, exportHalfFamilies, startOpsListener, type OpsListener } from '../ops/index.js';
import { CleanupStack } from '../util/cleanup-stack.js';
import { setImmediate as turnOfTheEventLoop } from 'node:timers/promises';

const log = logger('media_gateway::client');

/** Per-message counters of the client (see metrics/hot.ts). */
const countedMessages = hotSlotsBy(messagesTotal, { side: 'client' }, 'outcome');
const countedBytes = hotSlotsBy(bytesTotal, { side: 'client' }, 'outcome');

function messageBytes(m: { message: Uint8Array; data: Uint8Array[] }): number {
  let n = m.message.length;
  for (const d of m.data) n += d.length;
  return n;
}

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
  // First: a spool directory that cannot be used stops start-up before any socket is opened.
  const spool = cfg.spool ? Spool.open(cfg.spool, spoolEvents()) : undefined;
  let http: PostingHttp;
  let reader: SavantReader;
  try {
    http = await openServers(cfg, (url) => GatewayHttp.open(cfg, url));
  } catch (err) {
    await spool?.close();
    throw err;
  }
  try {
    reader = await SavantReader.open(cfg.inStream);
  } catch (err) {
    await http.close();
    await spool?.close();
    throw err;
  }
  // Loaded only when configured: without a telemetry section no OpenTelemetry module is ever imported.
  let tracing: ClientTracing | undefined;
  try {
    tracing = cfg.telemetry
      ? await (await import('../telemetry/client.js')).startClientTracing(cfg.telemetry)
      : undefined;
  } catch (err) {
    await reader.close();
    await http.close();
    await spool?.close();
    throw err;
  }
  const pipeline = new ClientPipeline(cfg, http, reader, spool, tracing);
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
  /**
   * Message bytes read since the reader last let the event loop turn. With a spool the reader lets the loop
   * turn after every batch's worth of bytes read (transport.max_batch_bytes, 8 MiB by default). A receive
   * resolves at once while ZeroMQ has messages queued (the SavantReader itself turns only every 512
   * receives: up to 512 MiB of 1 MiB frames), and storing in the spool is synchronous, so a spooling reader
   * fed by a fast source read on and on without a turn. The frames it was done with were not freed
   * meanwhile: zeromq.js hands every frame over 128 bytes to V8 as an external buffer, and Node releases
   * such a buffer (here: gives it back to ZeroMQ's allocator) only on a turn of the loop after the garbage
   * collector let it go; `process.memoryUsage().external` no longer counts it by then. So they piled up in
   * the malloc arena of ZeroMQ's I/O thread, and the sender and the timers starved. Measured in the 1 MiB
   * `mtls-spool-always` benchmark: up to 37 MiB read in one turn, that arena 58-207 MiB (docs/spool.md,
   * *Memory*). A turn every 1 MiB halved the 64 KiB spool runs' throughput (batches went out smaller: the
   * sender starts one whenever a lane is free); a batch's worth still lets the sender fill its batches.
   * Without a spool the in-flight bound (in_stream.inflight_ops) makes the reader wait for the sender, and
   * the loop turns there.
   */
  private readSinceTurn = 0;
  private readerClosed = false;
  /** closed last, in reverse order of opening */
  private readonly cleanup = new CleanupStack((err) => log.warn({ err: err.message }, 'error while closing'));

  /** on_delivery with a spool: the upstream OK owed for each stored message, by sequence number */
  private readonly owedAcks = new Map<number, () => Promise<void>>();

  constructor(
    private readonly cfg: ClientConfig,
    http: PostingHttp,
    private readonly reader: SavantReader,
    private readonly spool?: Spool,
    tracing?: ClientTracing,
  ) {
    // closed last: the spans of the final deliveries are exported on the way out
    if (tracing) this.cleanup.push(() => tracing.shutdown());
    if (spool) this.cleanup.push(() => spool.close());
    this.cleanup.push(() => http.close());
    this.fps = cfg.statistics ? new FpsStatistics(cfg.statistics) : undefined;
    const senderOptions: SenderOptions = {
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
      identify: spool
        ? (items) => ({
            [MESSAGE_IDS_HEADER]: formatMessageIds(
              spool.instanceId,
              items.map((i) => i.spooled!.seq),
            ),
          })
        : undefined,
    };
    this.sender = tracing ? tracing.traced((o) => new Sender(o), senderOptions) : new Sender(senderOptions);
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
    if (this.spool) {
      observeSpool(this.spool);
      this.spool.start((e) => this.sendSpooled(e), this.cfg.inStream.inflightOps);
    }
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
    return [
      ...this.notLive(),
      ...(this.spool?.notReady() ?? []),
      ...(this.stopping ? ['shutting down'] : []),
    ];
  }

  /** A reader that failed is not restarted by the client: only a restart brings reading back. */
  private notLive(): string[] {
    return this.readerFailure ? [`reader stopped: ${this.readerFailure}`] : [];
  }

  private health(): HealthReport {
    const reader: PartHealth = this.readerFailure
      ? { healthy: false, reasons: [`reader stopped: ${this.readerFailure}`] }
      : { healthy: true, reasons: [] };
    return aggregateHealth([{ health: () => reader }, this.sender, this.spool]);
  }

  private async runReader(): Promise<void> {
    while (!this.stopping) {
      if (this.spool && this.readSinceTurn >= this.cfg.transport.maxBatchBytes) {
        this.readSinceTurn = 0;
        await turnOfTheEventLoop();
        continue;
      }
      // with a spool the spool is the queue (it applies when_full); without, inflightOps bounds memory
      if (!this.spool && this.pending >= this.cfg.inStream.inflightOps) {
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
      if (result.kind === 'message') this.readSinceTurn += messageBytes(result);
      if (this.spool) {
        const accepting = this.acceptSpooled(this.spool, result);
        if (accepting) await accepting;
      } else this.accept(result);
    }
  }

  private accept(result: ReadResult): void {
    if (result.kind !== 'message') return this.dropNonMessage(result);
    const bytes = messageBytes(result);
    // Not encoded here: the sender writes the frames into the request body without copying them.
    const media: Media = { message: result.message, topic: result.topic, data: result.data };
    this.countRead(bytes);
    this.pending++;
    setClientQueueDepth(this.pending);
    this.sender.push({
      topic: result.topic,
      media,
      mediaLength: encodedMediaLength(media),
      bytes,
      ack: result.ack,
    });
  }

  private countRead(bytes: number): void {
    this.counts.read++;
    countedMessages('read').add();
    countedBytes('read').add(bytes);
    this.fps?.start();
  }

  private dropNonMessage(result: Exclude<ReadResult, { kind: 'message' }>): void {
    messagesTotal.inc({ side: 'client', outcome: 'dropped' });
    const topic = 'topic' in result ? result.topic.toString('utf8') : undefined;
    const error = result.kind === 'invalid' ? result.error.message : undefined;
    const parts = result.kind === 'too_short' ? result.parts : undefined;
    log.warn({ kind: result.kind, topic, error, parts }, 'dropped a read result that is not a message');
  }

  /**
   * With a spool: store the message (when_full applies there), then acknowledge upstream as the ack policy
   * says. The spool hands stored messages to the sender (sendSpooled). Synchronous in the common case (stored
   * at once, nothing to acknowledge).
   */
  private acceptSpooled(spool: Spool, result: ReadResult): void | Promise<void> {
    if (result.kind !== 'message') return this.dropNonMessage(result);
    const admission = spool.admit({
      topic: result.topic,
      message: result.message,
      data: result.data,
      endOfStream: result.info.content === 'end_of_stream',
    });
    if (admission instanceof Promise) return admission.then((a) => this.admitted(a, result));
    return this.admitted(admission, result);
  }

  private admitted(
    admission: Admission,
    result: Extract<ReadResult, { kind: 'message' }>,
  ): void | Promise<void> {
    if (admission.kind === 'stopped') return; // shutting down: not stored and not acknowledged
    if (admission.kind === 'dropped') {
      messagesTotal.inc({ side: 'client', outcome: 'spool_dropped' });
      // a REP peer waits for its OK forever: it gets it, the drop is counted and logged by the spool
      if (result.ack !== NOTHING_OWED) return result.ack().catch(() => undefined);
      return;
    }
    this.countRead(messageBytes(result));
    if (result.ack === NOTHING_OWED) return;
    if (this.cfg.inStream.ack === 'on_delivery') {
      this.owedAcks.set(admission.seq, result.ack);
      return;
    }
    return this.ackWhenDurable(admission.durable, result.ack);
  }

  private async ackWhenDurable(durable: Promise<void>, ack: () => Promise<void>): Promise<void> {
    await durable.catch((err: Error) =>
      log.warn(
        { err: err.message },
        'spool sync failed; acknowledging a message that is only in the page cache',
      ),
    );
    await ack().catch((err: Error) =>
      log.warn({ err: err.message }, 'could not acknowledge a spooled message upstream'),
    );
  }

  /** The spool hands a stored message to the sender (straight after storing it, or read back from disk). */
  private sendSpooled(e: SpooledEntry): void {
    const media: Media = { message: e.message, topic: e.topic, data: e.data };
    this.pending++;
    setClientQueueDepth(this.pending);
    this.sender.push({
      topic: e.topic,
      media,
      mediaLength: encodedMediaLength(media),
      bytes: e.bytes,
      ack: NOTHING_OWED,
      spooled: e,
    });
  }

  /** Synchronous unless an acknowledgement has to go upstream first (REP/ROUTER with on_delivery). */
  private completed(c: Completion): void | Promise<void> {
    const ack = c.item.spooled ? this.takeOwedAck(c.item.spooled.seq) : c.item.ack;
    if (ack === NOTHING_OWED) return this.finish(c);
    return ack()
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'could not acknowledge a delivered message upstream');
      })
      .then(() => this.finish(c));
  }

  private takeOwedAck(seq: number): () => Promise<void> {
    const ack = this.owedAcks.get(seq);
    if (!ack) return NOTHING_OWED;
    this.owedAcks.delete(seq);
    return ack;
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
    if (c.item.spooled) this.spool!.complete(c.item.spooled);
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
    await this.cleanup.close();
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
    this.spool?.quiesce();
    this.notify();
    // on_read: everything queued is already acknowledged upstream and must be delivered; unread messages
    // were not, so the socket can go now (on_persist likewise). on_delivery: acks still need the socket, so
    // it closes after draining.
    if (this.cfg.inStream.ack !== 'on_delivery') await this.closeReader();
    const drained = await this.drain(drainTimeoutMs);
    if (!drained && this.spool) {
      log.info(
        { inFlight: this.pending, timeoutMs: drainTimeoutMs },
        'shutdown timeout reached; undelivered messages stay in the spool for the next start',
      );
    } else if (!drained) {
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
