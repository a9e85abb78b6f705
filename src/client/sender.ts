// Delivery of read messages to the gateway server, in order per topic. Topics are hashed onto lanes; a lane
// has at most one request in flight and completes its messages strictly in queue order, lanes run in
// parallel. In batch mode a lane POSTs up to maxBatchMessages / maxBatchBytes of its queue to /batch; the
// accepted prefix is done and the rest is retried from the first item that was not accepted. 'auto' falls
// back for good to the original's one-message POST / when the server has no /batch endpoint.
// Failures are retried with exponential backoff, forever, except 400 and 413 (they can never succeed):
// those messages go to the dead-letter directory and the stream moves on. Failures of the exchange itself
// (transport, TLS, 401/403) are classified (./refusal.ts) and reported by one RefusalMonitor rather than a
// line per retry; while the server refuses us (certificate, trust, credentials) retries wait the maximum delay.
import type { ClientConfig, RetryConfig } from '../config/index.js';
import type { PartHealth } from '../health/index.js';
import { encodeMedia, encodeMediaChunks, type Media } from '../savant/media.js';
import { logger } from '../util/index.js';
import type { SpooledEntry } from '../spool/index.js';
import type { DeadLetterDir } from './dead-letter.js';
import type { PostingHttp, PostOutcome } from './http.js';
import {
  NO_BATCH_ENDPOINT_STATUSES as NO_BATCH_ENDPOINT,
  PERMANENT_STATUSES as PERMANENT,
  REFUSAL_STATUSES as CLASSIFIED_STATUS,
  STATUS,
  parseBatchReply,
} from '../contract/http.js';
import { laneOf } from './lanes.js';
import { Backoff, sleep } from './retry.js';
import { classifyFailure, isRefusal, type DeliveryFailure } from './refusal.js';
import { RefusalMonitor } from './refusal-monitor.js';

const log = logger('media_gateway::client');

/** One read message on its way to the server. */
export interface Outgoing {
  topic: Uint8Array;
  /** the message as read; encoded into the request body when it is sent */
  media: Media;
  /** length of `media` encoded */
  mediaLength: number;
  /** message + extra frame bytes, for the byte counters */
  bytes: number;
  ack(): Promise<void>;
  /** set when the message comes from the spool (src/spool/): completing it removes it there */
  spooled?: SpooledEntry;
}

export type Completion =
  | { item: Outgoing; outcome: 'delivered' }
  | { item: Outgoing; outcome: 'dead_lettered'; status: number; file: string };

export interface SenderOptions {
  transport: ClientConfig['transport'];
  retry: RetryConfig;
  http: Pick<PostingHttp, 'post'>;
  /** extra request headers naming the items of a body (the spool's message identities), in body order */
  identify?(items: readonly Outgoing[]): Record<string, string> | undefined;
  deadLetters: DeadLetterDir;
  /** called once per message, in each lane's order; the lane waits for it (acks go out in order) */
  onComplete(c: Completion): void | Promise<void>;
  onRetry(reason: string): void;
  /** whether a client certificate is presented (tells a bare TLS handshake-failure alert apart) */
  presentsCertificate?: boolean;
  /** reports classified failures; default: one with the standard summary interval */
  refusals?: RefusalMonitor;
}

/** MediaBatch framing per item: tag + length varint. */
const ITEM_OVERHEAD = 6;

interface Lane {
  index: number;
  queue: Outgoing[];
  active: boolean;
  done: Promise<void>;
  /** current batch size limit; shrinks to isolate an item the server refuses as a whole request */
  limit: number;
  /** `classified`: reported by the RefusalMonitor, not per lane */
  failing?: { since: number; reason: string; classified: boolean };
}

type Step =
  | { kind: 'progress' }
  | { kind: 'again' }
  | { kind: 'retry'; reason: string; detail: string; progressed: boolean; failure?: DeliveryFailure };

export class Sender {
  private readonly lanes: Lane[];
  private mode: 'single' | 'batch';
  private readonly aborter = new AbortController();
  private batchEndpointMissingLogged = false;
  private readonly refusals: RefusalMonitor;

  constructor(private readonly opts: SenderOptions) {
    this.refusals = opts.refusals ?? new RefusalMonitor();
    const count = Math.max(1, opts.transport.lanes);
    this.lanes = Array.from({ length: count }, (_, index) => ({
      index,
      queue: [],
      active: false,
      done: Promise.resolve(),
      limit: opts.transport.maxBatchMessages,
    }));
    this.mode = opts.transport.mode === 'single' ? 'single' : 'batch';
  }

  /** The request form in use: 'auto' starts as 'batch' and may turn into 'single'. */
  get currentMode(): 'single' | 'batch' {
    return this.mode;
  }

  push(item: Outgoing): void {
    const lane = this.lanes[laneOf(item.topic, this.lanes.length)];
    lane.queue.push(item);
    if (!lane.active && !this.aborter.signal.aborted) {
      lane.active = true;
      lane.done = this.runLane(lane);
    }
  }

  /** Messages queued or in flight. */
  pending(): number {
    return this.lanes.reduce((n, l) => n + l.queue.length, 0);
  }

  /** Gives up: in-flight requests and retry waits are cancelled; queued messages stay undelivered. */
  async abort(): Promise<void> {
    this.aborter.abort();
    await Promise.all(this.lanes.map((l) => l.done));
  }

  health(): PartHealth {
    const reasons = this.lanes
      .filter((l) => l.failing && !l.failing.classified)
      .map(
        (l) =>
          `delivery failing since ${new Date(l.failing!.since).toISOString()} (lane ${l.index}: ${l.failing!.reason})`,
      );
    reasons.unshift(...this.refusals.health().reasons);
    return { healthy: reasons.length === 0, reasons };
  }

  private async runLane(lane: Lane): Promise<void> {
    const backoff = new Backoff(this.opts.retry);
    const signal = this.aborter.signal;
    try {
      while (lane.queue.length > 0 && !signal.aborted) {
        const step = this.mode === 'single' ? await this.sendSingle(lane) : await this.sendBatch(lane);
        if (step.kind === 'again') continue;
        if (step.kind === 'progress' || step.progressed) {
          backoff.reset();
          lane.failing = undefined;
          this.refusals.succeeded();
        }
        if (step.kind === 'retry' && !signal.aborted) {
          const failure = step.failure;
          const delay = failure && isRefusal(failure) ? backoff.maximum() : backoff.next();
          lane.failing = {
            since: lane.failing?.since ?? Date.now(),
            reason: step.detail,
            classified: !!failure,
          };
          this.opts.onRetry(step.reason);
          const fields = { lane: lane.index, reason: step.detail, retry: backoff.attempts, delayMs: delay };
          if (failure) {
            this.refusals.failed(failure, delay);
            log.debug(fields, 'delivery failed, retrying');
          } else {
            log.warn(fields, 'delivery failed, retrying');
          }
          await sleep(delay, signal);
        }
      }
    } catch (err) {
      // onComplete failures are logged there; anything reaching here is a bug, keep it visible.
      log.error({ lane: lane.index, err: (err as Error).message }, 'sender lane stopped');
    } finally {
      lane.active = false;
    }
  }

  private async sendSingle(lane: Lane): Promise<Step> {
    const item = lane.queue[0];
    const out = await this.opts.http.post(
      'single',
      encodeMediaChunks([item.media], false),
      this.aborter.signal,
      this.opts.identify?.([item]),
      lane.index,
    );
    if (out.kind === 'transport_error' || CLASSIFIED_STATUS.has(out.status)) return this.classified(out);
    if (out.status === STATUS.delivered) {
      await this.complete(lane, 1);
      return { kind: 'progress' };
    }
    if (PERMANENT.has(out.status)) return this.deadLetter(lane, out.status, false);
    return statusRetry(out.status, false);
  }

  private async sendBatch(lane: Lane): Promise<Step> {
    const items = this.takeBatch(lane);
    const body = encodeMediaChunks(
      items.map((i) => i.media),
      true,
    );
    const out = await this.opts.http.post(
      'batch',
      body,
      this.aborter.signal,
      this.opts.identify?.(items),
      lane.index,
    );
    if (out.kind === 'transport_error' || CLASSIFIED_STATUS.has(out.status)) return this.classified(out);
    if (NO_BATCH_ENDPOINT.has(out.status)) {
      if (this.opts.transport.mode === 'auto') {
        if (this.mode === 'batch') {
          this.mode = 'single';
          log.warn(
            { status: out.status },
            'server has no /batch endpoint; switching to one message per POST / for good',
          );
        }
        return { kind: 'again' };
      }
      if (!this.batchEndpointMissingLogged) {
        this.batchEndpointMissingLogged = true;
        log.error(
          { status: out.status },
          'server has no /batch endpoint and transport.mode is "batch"; use "auto" or "single"',
        );
      }
      return statusRetry(out.status, false);
    }
    if (PERMANENT.has(out.status)) {
      // The request as a whole was refused: halve the batch until the one bad item stands alone.
      if (items.length > 1) {
        lane.limit = Math.max(1, Math.floor(items.length / 2));
        return { kind: 'again' };
      }
      return this.deadLetter(lane, out.status, false);
    }
    if (out.status !== STATUS.delivered) return statusRetry(out.status, false);

    const reply = parseBatchReply(out.body, items.length);
    if (!reply) {
      return {
        kind: 'retry',
        reason: 'bad_response',
        detail: `unexpected /batch reply: ${out.body.slice(0, 100)}`,
        progressed: false,
      };
    }
    await this.complete(lane, reply.accepted);
    const progressed = reply.accepted > 0;
    if (reply.accepted === items.length) return { kind: 'progress' };
    if (PERMANENT.has(reply.status)) return this.deadLetter(lane, reply.status, progressed);
    return statusRetry(reply.status, progressed);
  }

  /** The retry step of a transport failure or a 401/403, with its classified failure. */
  private classified(out: PostOutcome): Step {
    const reason = out.kind === 'transport_error' ? 'transport' : String(out.status);
    const failure = classifyFailure(out, { presentsCertificate: !!this.opts.presentsCertificate });
    const detail = failure ? `${failure.reason}: ${failure.detail}` : reason;
    return { kind: 'retry', reason, detail, progressed: false, failure };
  }

  private takeBatch(lane: Lane): Outgoing[] {
    const max = Math.max(1, Math.min(lane.limit, this.opts.transport.maxBatchMessages));
    const batch: Outgoing[] = [];
    let bytes = 0;
    for (const item of lane.queue) {
      const size = item.mediaLength + ITEM_OVERHEAD;
      if (batch.length >= max || (batch.length > 0 && bytes + size > this.opts.transport.maxBatchBytes))
        break;
      batch.push(item);
      bytes += size;
    }
    return batch;
  }

  /** Writes the lane's head to the dead-letter directory and moves on; an I/O error keeps it and retries. */
  private async deadLetter(lane: Lane, status: number, progressed: boolean): Promise<Step> {
    const item = lane.queue[0];
    let file: string;
    try {
      file = await this.opts.deadLetters.write({ media: encodeMedia(item.media), topic: item.topic, status });
    } catch (err) {
      return {
        kind: 'retry',
        reason: 'dead_letter_io',
        detail: `cannot write to the dead-letter directory ${this.opts.deadLetters.dir}: ${(err as Error).message}`,
        progressed,
      };
    }
    log.warn(
      { status, file },
      'the server can never accept this message; written to the dead-letter directory',
    );
    lane.queue.shift();
    lane.limit = this.opts.transport.maxBatchMessages;
    await this.opts.onComplete({ item, outcome: 'dead_lettered', status, file });
    return { kind: 'progress' };
  }

  private async complete(lane: Lane, n: number): Promise<void> {
    for (const item of lane.queue.splice(0, n)) {
      const acking = this.opts.onComplete({ item, outcome: 'delivered' });
      if (acking) await acking;
    }
  }
}

function statusRetry(status: number, progressed: boolean): Step {
  const detail =
    status === STATUS.sendTimeout
      ? 'SendTimeout (HTTP 504)'
      : status === STATUS.ackTimeout
        ? 'AckTimeout (HTTP 502)'
        : `HTTP ${status}`;
  return { kind: 'retry', reason: String(status), detail, progressed };
}
