// Savant ZeroMQ reader: receives [routing id,] topic, message, extra... on a sub/rep/router
// socket and classifies it in savant_core's order (too short → blacklist → decode → EOS → topic prefix →
// routing id). Replies `OK` where the original does, either when the message is read (`on_read`, the
// original's behaviour) or only once the consumer has delivered it (`on_delivery`).
//
// Deviations from savant_core 0.3.5, all so that a REP peer can never be left stuck without a reply:
// a too-short or undecodable message (bad protobuf, no content) is answered with `OK` on REP too (the
// original sends nothing, or errors/panics), and is returned as `too_short` / `invalid`.
import { setImmediate as turnOfTheEventLoop } from 'node:timers/promises';
import type * as zmq from 'zeromq';
import type { ReaderConfig, TopicPrefixSpec } from '../config/index.js';
import { hotSlotsBy, zmqReadResultsTotal } from '../metrics/index.js';
import { logger } from '../util/index.js';
import { resolveIpcPermissions } from './ipc.js';
import { inspectMessage, MessageDecodeError, type MessageInfo } from './message.js';
import { RoutingIdCache, SourceBlacklist } from './routing-cache.js';
import { attachSocket, createSocket, detachSocket, isTimeout, type SavantSocket } from './socket.js';
import { parseSocketUrl, type SocketUrl } from './url.js';
import { OK } from './writer.js';

const readResults = hotSlotsBy(zmqReadResultsTotal, {}, 'result');

export type ReadResult =
  | {
      kind: 'message';
      topic: Buffer;
      message: Buffer;
      data: Buffer[];
      routingId?: Buffer;
      info: MessageInfo;
      /** sends the deferred `OK` (on_delivery); a no-op when nothing is owed or it was sent at read time */
      ack: () => Promise<void>;
    }
  | { kind: 'prefix_mismatch' | 'routing_id_mismatch'; topic: Buffer; routingId?: Buffer }
  | { kind: 'too_short'; parts: number }
  | { kind: 'blacklisted'; topic: Buffer }
  | { kind: 'invalid'; topic: Buffer; error: Error };

type MessageResult = Extract<ReadResult, { kind: 'message' }>;

const log = logger('media_gateway::savant::reader');
/** Timed receives after the queue was found empty, before receiving without waiting again (receiveParts). */
const TIMED_AFTER_EMPTY = 64;
/**
 * A receive without waiting resolves at once, so a reader fed faster than it reads would never let the
 * event loop turn. zeromq.js lets a timed receive resolve at once 512 times per turn, then makes it wait
 * for the next; receiveParts keeps that bound for its receives without waiting. Without it the spooling
 * client at 1 KiB stalled its loop for up to 292 ms and its p99 rose from ~0.8 to ~4 s
 * (docs/benchmark.md, "ZeroMQ sends and receives").
 */
const AT_ONCE_PER_TURN = 512;
/** The ack() of a message whose reply is already sent or never owed; callers may skip calling it. */
export const NOTHING_OWED = async (): Promise<void> => undefined;

function validateReaderConfig(cfg: ReaderConfig): void {
  for (const [name, v] of Object.entries({
    receiveTimeoutMs: cfg.receiveTimeoutMs,
    receiveHwm: cfg.receiveHwm,
    sourceCacheSize: cfg.sourceCacheSize,
  })) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`reader ${name} must be an integer >= 1, got ${v}`);
  }
  if (cfg.ack !== 'on_read' && cfg.ack !== 'on_delivery' && cfg.ack !== 'on_persist')
    throw new RangeError(`reader ack must be on_read, on_delivery or on_persist`);
}

function topicMatches(spec: TopicPrefixSpec, topic: Buffer): boolean {
  switch (spec.kind) {
    case 'none':
      return true;
    case 'source_id':
      return topic.equals(Buffer.from(spec.value));
    case 'prefix':
      return topic.subarray(0, Buffer.byteLength(spec.value)).equals(Buffer.from(spec.value));
  }
}

export class SavantReader {
  private readonly sock: SavantSocket;
  private boundEndpoint: string | undefined;
  private closed = false;
  private readonly routingIds: RoutingIdCache;
  private readonly blacklist = new SourceBlacklist();
  /** REP with on_delivery: the reply still owed for the last message; the next receive waits for it */
  private owedReply: { done: Promise<void>; settle: () => void } | undefined;
  private receiving: Promise<unknown> = Promise.resolve();
  /** receive() calls not yet settled */
  private waiting = 0;
  private readonly settled = (): void => {
    this.waiting--;
  };
  private replying: Promise<unknown> = Promise.resolve();
  /** receives left to wait with the configured timeout before trying without waiting again (receiveParts) */
  private timedReceives = 0;
  /** receives without waiting since the event loop last turned for them (AT_ONCE_PER_TURN) */
  private atOnce = 0;

  private constructor(
    private readonly cfg: ReaderConfig,
    readonly url: SocketUrl,
  ) {
    this.routingIds = new RoutingIdCache(cfg.sourceCacheSize);
    // 0 until a receive finds nothing queued: see receiveParts
    this.sock = createSocket(url.type, { receiveHighWaterMark: cfg.receiveHwm, receiveTimeout: 0 });
    if (url.type === 'sub') {
      const sub = this.sock as zmq.Subscriber;
      if (cfg.topicPrefixSpec.kind === 'none') sub.subscribe();
      else sub.subscribe(cfg.topicPrefixSpec.value);
    }
  }

  static async open(cfg: ReaderConfig): Promise<SavantReader> {
    validateReaderConfig(cfg);
    const url = parseSocketUrl(cfg.url, 'reader');
    resolveIpcPermissions(url, cfg.fixIpcPermissions);
    const r = new SavantReader(cfg, url);
    try {
      r.boundEndpoint = await attachSocket(r.sock, url, {
        fixIpcPermissions: cfg.fixIpcPermissions,
        configuredUrl: cfg.url,
      });
    } catch (err) {
      r.sock.close();
      throw err;
    }
    log.debug({ url: cfg.url, endpoint: r.boundEndpoint ?? url.endpoint }, 'reader socket ready');
    return r;
  }

  /** The address actually bound (resolves `tcp://host:0`), undefined for connect sockets. */
  get endpoint(): string | undefined {
    return this.boundEndpoint;
  }

  /** Refuses messages on `topic` for the blacklist TTL (10 s), like savant_core's blacklist_source(). */
  blacklistSource(topic: Uint8Array): void {
    this.blacklist.blacklist(topic);
  }

  /** The next result; resolves undefined once the reader is closed. Concurrent calls are served in order. */
  receive(): Promise<ReadResult | undefined> {
    // the usual caller waits for each result before asking again: then there is nothing to queue behind
    const run = this.waiting === 0 ? this.receiveNow() : this.receiving.then(() => this.receiveNow());
    this.waiting++;
    this.receiving = run.then(this.settled, this.settled);
    return run;
  }

  private async receiveNow(): Promise<ReadResult | undefined> {
    for (;;) {
      // REP strictly alternates receive and reply: wait until the consumer acked the previous message
      if (this.owedReply) await this.owedReply.done;
      if (this.closed) return undefined;
      let parts: Buffer[];
      try {
        parts = await this.receiveParts();
      } catch (err) {
        if (this.closed) return undefined;
        if (isTimeout(err)) continue; // RCVTIMEO only bounds each wait; it is not a result
        throw err;
      }
      const classified = this.classify(parts);
      const result = classified instanceof Promise ? await classified : classified;
      readResults(result.kind).add();
      if (result.kind !== 'message') log.debug({ result: result.kind }, 'zeromq message not accepted');
      return result;
    }
  }

  /**
   * One message's parts. While messages are queued the socket is asked without waiting (a receive timeout
   * of 0): for a timed receive zeromq.js first queries ZMQ_EVENTS, a mailbox poll() and getpid() on this
   * thread, ~5-10 µs of CPU per 1 KiB message (docs/benchmark.md, "ZeroMQ sends and receives"). Once the
   * queue is found empty, the next TIMED_AFTER_EMPTY receives wait with the configured timeout, so that a
   * slow source does not pay for a refused attempt (an exception) before every message.
   */
  private async receiveParts(): Promise<Buffer[]> {
    const sock = this.sock as zmq.Router;
    if (this.timedReceives === 0) {
      if (++this.atOnce >= AT_ONCE_PER_TURN) {
        this.atOnce = 0;
        await turnOfTheEventLoop();
      }
      try {
        return await sock.receive();
      } catch (err) {
        if (this.closed || !isTimeout(err)) throw err;
        this.timedReceives = TIMED_AFTER_EMPTY;
        sock.receiveTimeout = this.cfg.receiveTimeoutMs;
      }
    }
    const parts = await sock.receive();
    if (--this.timedReceives === 0 && !this.closed) sock.receiveTimeout = 0;
    return parts;
  }

  /** Sync for the common case; a promise only where a reply has to go out first (REP, ROUTER's EOS). */
  private classify(parts: Buffer[]): ReadResult | Promise<ReadResult> {
    const type = this.url.type;
    const isRep = type === 'rep';
    const afterOkOnRep = (r: ReadResult): ReadResult | Promise<ReadResult> =>
      isRep ? this.reply([OK]).then(() => r) : r;

    if (parts.length < (type === 'router' ? 3 : 2)) {
      return afterOkOnRep({ kind: 'too_short', parts: parts.length });
    }
    const routingId = type === 'router' ? parts[0] : undefined;
    const [topic, message, ...extra] = type === 'router' ? parts.slice(1) : parts;

    if (this.blacklist.isBlacklisted(topic)) {
      return afterOkOnRep({ kind: 'blacklisted', topic });
    }

    let info: MessageInfo;
    try {
      info = inspectMessage(message);
      if (info.content === null) throw new MessageDecodeError('Message has no content');
    } catch (err) {
      return afterOkOnRep({ kind: 'invalid', topic, error: err as Error });
    }

    const base = routingId ? { topic, message, routingId, info } : { topic, message, info };

    // EOS bypasses both filters and drops its extra frames; REP and ROUTER confirm it
    if (info.content === 'end_of_stream') {
      const okFrames = isRep ? [OK] : routingId ? [routingId, OK] : undefined;
      return this.deliver({ ...base, data: [] }, okFrames);
    }

    if (!topicMatches(this.cfg.topicPrefixSpec, topic)) {
      return afterOkOnRep(
        routingId ? { kind: 'prefix_mismatch', topic, routingId } : { kind: 'prefix_mismatch', topic },
      );
    }

    if (isRep) return this.deliver({ ...base, data: extra }, [OK]);

    if (routingId && !this.routingIds.allow(topic, routingId)) {
      return { kind: 'routing_id_mismatch', topic, routingId };
    }
    return this.deliver({ ...base, data: extra }, undefined);
  }

  /** Sends the owed `OK` now (on_read) or hands it to the consumer as `ack()` (on_delivery). */
  private deliver(
    msg: Omit<MessageResult, 'kind' | 'ack'>,
    okFrames: Buffer[] | undefined,
  ): MessageResult | Promise<MessageResult> {
    if (!okFrames) return { kind: 'message', ...msg, ack: NOTHING_OWED };
    if (this.cfg.ack === 'on_read') {
      return this.reply(okFrames).then(() => ({ kind: 'message', ...msg, ack: NOTHING_OWED }));
    }
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const owed = this.url.type === 'rep' ? { done, settle } : undefined;
    if (owed) this.owedReply = owed;
    let acked = false;
    const ack = async (): Promise<void> => {
      if (acked) return;
      acked = true;
      try {
        if (!this.closed) await this.reply(okFrames);
      } finally {
        if (owed && this.owedReply === owed) this.owedReply = undefined;
        settle();
      }
    };
    return { kind: 'message', ...msg, ack };
  }

  /** One send at a time on the socket (ROUTER acks may be requested concurrently). */
  private reply(frames: Buffer[]): Promise<void> {
    const run = this.replying.then(() => (this.sock as zmq.Router).send(frames));
    this.replying = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.owedReply?.settle();
    detachSocket(this.sock);
  }
}
