// Savant ZeroMQ writer: sends [topic, message, extra...] on a pub/req/dealer socket with
// savant_core's retry and acknowledgement rules. Calls to send() are queued and run one at a time in call
// order, because a ZeroMQ socket allows one pending send and the ack of a req/EOS must pair with its send.
// A send whose ack timed out is reported as failed and must not reach the sink afterwards: its socket is
// closed without lingering and replaced (see replaceAfterAckTimeout). What a result guarantees per socket
// type is written down in docs/zeromq.md.
import { GatewayError } from '../errors/index.js';
import type * as zmq from 'zeromq';
import type { WriterConfig } from '../config/index.js';
import { hotSlotsBy, writerSocketsReplacedTotal, zmqSendResultsTotal } from '../metrics/index.js';
import { logger } from '../util/index.js';
import { resolveIpcPermissions } from './ipc.js';
import { PubPeerWatch } from './peer-watch.js';
import { attachSocket, createSocket, detachSocket, isTimeout, type SavantSocket } from './socket.js';
import { parseSocketUrl, type SocketUrl } from './url.js';

const sendResults = hotSlotsBy(zmqSendResultsTotal, {}, 'result');

/** How long a re-created socket retries binding its predecessor's endpoint (released asynchronously). */
const REBIND_RETRY_MS = 2000;

export type WriteResult =
  | { kind: 'success'; retriesSpent: number; timeSpentMs: number }
  | { kind: 'ack'; sendRetriesSpent: number; receiveRetriesSpent: number; timeSpentMs: number }
  | { kind: 'send_timeout' }
  | { kind: 'ack_timeout'; timeSpentMs: number }
  | { kind: 'error'; error: Error };

const log = logger('media_gateway::savant::writer');

/** The ack frame of Savant readers. */
export const OK = Buffer.from('OK');

export function isOkFrame(frame: Uint8Array | undefined): boolean {
  return frame !== undefined && frame.length === 2 && frame[0] === OK[0] && frame[1] === OK[1];
}

function validateWriterConfig(cfg: WriterConfig): void {
  const positive = {
    sendTimeoutMs: cfg.sendTimeoutMs,
    receiveTimeoutMs: cfg.receiveTimeoutMs,
    sendHwm: cfg.sendHwm,
    receiveHwm: cfg.receiveHwm,
  };
  for (const [name, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`writer ${name} must be an integer >= 1, got ${v}`);
  }
  for (const [name, v] of Object.entries({
    sendRetries: cfg.sendRetries,
    receiveRetries: cfg.receiveRetries,
  })) {
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`writer ${name} must be an integer >= 0, got ${v}`);
  }
}

/** Closes a socket whose queued messages must never be delivered. */
function discardSocket(sock: SavantSocket): void {
  if (!sock.closed) sock.linger = 0;
  detachSocket(sock);
}

export class SavantWriter {
  private sock: SavantSocket;
  private boundEndpoint: string | undefined;
  /** set when the socket must be replaced before the next send (see recreate()) */
  private broken = false;
  /** pub only: connected subscribers, and the count of what is sent while there are none */
  readonly peers: PubPeerWatch | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly cfg: WriterConfig,
    readonly url: SocketUrl,
  ) {
    this.sock = this.makeSocket();
    // a pub socket is never replaced, so one watch lasts as long as the writer
    this.peers = url.type === 'pub' ? new PubPeerWatch(this.sock as zmq.Publisher, cfg.url) : undefined;
  }

  static async open(cfg: WriterConfig): Promise<SavantWriter> {
    validateWriterConfig(cfg);
    const url = parseSocketUrl(cfg.url, 'writer');
    resolveIpcPermissions(url, cfg.fixIpcPermissions);
    const w = new SavantWriter(cfg, url);
    try {
      w.boundEndpoint = await attachSocket(w.sock, url, {
        fixIpcPermissions: cfg.fixIpcPermissions,
        configuredUrl: cfg.url,
      });
    } catch (err) {
      w.sock.close();
      throw err;
    }
    log.debug({ url: cfg.url, endpoint: w.boundEndpoint ?? url.endpoint }, 'writer socket ready');
    return w;
  }

  /** The address actually bound (resolves `tcp://host:0`), undefined for connect sockets. */
  get endpoint(): string | undefined {
    return this.boundEndpoint;
  }

  /**
   * The socket's send timeout stays 0 between sends (see trySend); the configured one applies only while
   * a send waits (sendWaiting).
   */
  private makeSocket(): SavantSocket {
    const { cfg } = this;
    return createSocket(
      this.url.type,
      this.url.type === 'pub'
        ? { sendHighWaterMark: cfg.sendHwm, sendTimeout: 0 }
        : {
            sendHighWaterMark: cfg.sendHwm,
            sendTimeout: 0,
            receiveHighWaterMark: cfg.receiveHwm,
            receiveTimeout: cfg.receiveTimeoutMs,
          },
    );
  }

  /** Sends one Savant message; never rejects (failures are `{kind: 'error'}`). */
  send(topic: Uint8Array, message: Uint8Array, extra: Uint8Array[], isEos: boolean): Promise<WriteResult> {
    const run = this.queue.then(() => this.sendNow(topic, message, extra, isEos));
    this.queue = run;
    return run;
  }

  private async sendNow(
    topic: Uint8Array,
    message: Uint8Array,
    extra: Uint8Array[],
    isEos: boolean,
  ): Promise<WriteResult> {
    let result: WriteResult;
    try {
      result = await this.sendAndAwaitAck([topic, message, ...extra], isEos);
    } catch (err) {
      result = { kind: 'error', error: err instanceof Error ? err : new Error(String(err)) };
    }
    sendResults(result.kind).add();
    if (result.kind !== 'success' && result.kind !== 'ack')
      log.debug({ result: result.kind }, 'zeromq send not acknowledged');
    return result;
  }

  private assertAlive(): void {
    if (this.closed) throw new GatewayError('socket_closed', 'ZeroMQ socket is no longer alive');
  }

  private async sendAndAwaitAck(parts: Uint8Array[], isEos: boolean): Promise<WriteResult> {
    this.assertAlive();
    if (this.broken) await this.recreate();
    const start = performance.now();
    const elapsed = () => Math.round(performance.now() - start);
    const { sendRetries, receiveRetries } = this.cfg;

    let sendRetriesSpent = 0;
    if (!(await this.trySend(this.sock as zmq.Dealer, parts))) {
      const spent = await this.sendWaiting(parts, sendRetries);
      if (spent === undefined) return { kind: 'send_timeout' };
      sendRetriesSpent = spent;
    }

    const type = this.url.type;
    if (!(type === 'req' || (isEos && type !== 'pub'))) {
      this.peers?.sent();
      return { kind: 'success', retriesSpent: sendRetriesSpent, timeSpentMs: elapsed() };
    }

    let receiveRetriesSpent = 0;
    for (;;) {
      let reply: Buffer[];
      try {
        reply = await (this.sock as zmq.Dealer | zmq.Request).receive();
      } catch (err) {
        this.assertAlive();
        if (!isTimeout(err)) throw err;
        if (receiveRetriesSpent >= receiveRetries) {
          await this.replaceAfterAckTimeout();
          return { kind: 'ack_timeout', timeSpentMs: elapsed() };
        }
        receiveRetriesSpent++;
        continue;
      }
      // an EOS must be confirmed with OK; for req any reply completes the exchange
      if (isEos && !isOkFrame(reply[reply.length - 1])) {
        throw new GatewayError(
          'eos_unconfirmed',
          `Failed to receive confirmation message for end-of-stream (got ${reply.length} frame(s), last is not OK)`,
        );
      }
      return { kind: 'ack', sendRetriesSpent, receiveRetriesSpent, timeSpentMs: elapsed() };
    }
  }

  /**
   * Sends if the socket takes the message within its current send timeout; false when it did not (a
   * timeout of 0: its high-water mark is reached, or a dealer has no peer yet). The socket's timeout is 0
   * for the first attempt: then zeromq.js skips the ZMQ_EVENTS query it makes before every timed send, a
   * mailbox poll() and getpid() on the calling thread: 33 against 19 µs of CPU per 1 KiB message sent and
   * received through ipc in one process (docs/benchmark.md, "ZeroMQ sends and receives"). A message
   * refused there is sent by sendWaiting with the configured timeout and retries, so the first attempt adds
   * no waiting to what savant_core's send timeout allows.
   */
  private async trySend(sock: zmq.Dealer, parts: Uint8Array[]): Promise<boolean> {
    try {
      await sock.send(parts);
      return true;
    } catch (err) {
      this.assertAlive();
      if (!isTimeout(err)) throw err;
      return false;
    }
  }

  /** The send with the configured timeout, retried `sendRetries` times; the retries spent, or undefined. */
  private async sendWaiting(parts: Uint8Array[], sendRetries: number): Promise<number | undefined> {
    const sock = this.sock as zmq.Dealer;
    sock.sendTimeout = this.cfg.sendTimeoutMs;
    try {
      for (let spent = 0; ; spent++) {
        if (await this.trySend(sock, parts)) return spent;
        if (spent >= sendRetries) return undefined;
      }
    } finally {
      if (!sock.closed) sock.sendTimeout = 0;
    }
  }

  /**
   * After an ack timeout (req, or an EOS on dealer) the old socket goes, closed with LINGER 0, and a fresh
   * one takes its place:
   * - the request we answered as failed may still sit in the old socket's queue (the sink was away and
   *   reconnects); lingering would deliver it after the failure was reported, and the client's retry
   *   would then make it a duplicate. LINGER 0 drops it.
   * - a req socket still waiting for its reply refuses every later send (EFSM); savant_core then fails
   *   for good.
   * - a late OK for a timed-out EOS on dealer would otherwise be taken as the ack of the next EOS.
   * On dealer this also drops data messages still queued before the EOS; they were answered as queued,
   * not delivered (docs/zeromq.md).
   */
  private async replaceAfterAckTimeout(): Promise<void> {
    this.broken = true;
    writerSocketsReplacedTotal.inc({ type: this.url.type });
    try {
      await this.recreate();
    } catch (err) {
      log.warn(
        { err: (err as Error).message, url: this.cfg.url },
        'cannot re-create the writer socket; will retry on the next send',
      );
    }
  }

  private async recreate(): Promise<void> {
    discardSocket(this.sock);
    this.sock = this.makeSocket();
    this.boundEndpoint = await attachSocket(this.sock, this.url, {
      fixIpcPermissions: this.cfg.fixIpcPermissions,
      configuredUrl: this.cfg.url,
      endpoint: this.boundEndpoint ?? this.url.endpoint,
      addressInUseRetryMs: REBIND_RETRY_MS,
    });
    this.broken = false;
    // close() may have run while we were re-binding; do not leave the new socket open
    if (this.closed) detachSocket(this.sock);
    log.info(
      { url: this.cfg.url },
      'writer socket replaced after an ack timeout; what the old one still queued was dropped',
    );
  }

  /** Closes the socket; queued and later sends resolve with an error result. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    detachSocket(this.sock);
  }
}
