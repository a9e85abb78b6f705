// Observability of a pub writer: ZeroMQ's PUB drops every message while no subscriber is connected and
// still reports the send as done. The libzmq socket monitor (accept/connect/disconnect events) gives the
// connected-peer count; a send made while it is zero is counted as dropped and warned about once per
// period without subscribers. Kept apart from the writer's send logic, which only calls sent().
import { EventEmitter } from 'node:events';
import type * as zmq from 'zeromq';
import { hotSlot, writerConnectedPeers, writerDroppedNoSubscriberTotal } from '../metrics/index.js';
import { logger } from '../util/index.js';

const log = logger('media_gateway::savant::writer');
const dropped = hotSlot(writerDroppedNoSubscriberTotal, {});

/**
 * Counts the peers of one pub socket. Emits 'change' with the new count. The drop count is close to the
 * loss, not exact: monitor events arrive after libzmq acted on them, so a few sends around a connect or
 * disconnect land on the wrong side, and a subscriber whose subscription does not match (or is still on
 * its way) gets nothing without being counted (docs/zeromq.md has measured figures).
 */
export class PubPeerWatch extends EventEmitter {
  private count = 0;
  private droppedThisPeriod = 0;

  constructor(
    sock: zmq.Publisher,
    private readonly url: string,
  ) {
    super();
    const up = (): void => this.set(this.count + 1);
    const down = (): void => this.set(Math.max(0, this.count - 1));
    sock.events.on('accept', up);
    sock.events.on('connect', up);
    sock.events.on('disconnect', down);
    sock.events.on('end', () => this.set(0));
  }

  /** Peers connected now, as far as the monitor events received so far tell. */
  get peers(): number {
    return this.count;
  }

  /** Called after each send the pub socket accepted. */
  sent(): void {
    if (this.count > 0) return;
    dropped.add();
    if (this.droppedThisPeriod++ === 0) {
      log.warn(
        { url: this.url },
        'pub writer has no subscriber connected: ZeroMQ drops what is sent ' +
          '(counted in media_gateway_writer_dropped_no_subscriber_total)',
      );
    }
  }

  private set(n: number): void {
    const was = this.count;
    this.count = n;
    writerConnectedPeers.set(n);
    if (was === 0 && n > 0 && this.droppedThisPeriod > 0) {
      log.info({ url: this.url, dropped: this.droppedThisPeriod }, 'pub writer has a subscriber again');
      this.droppedThisPeriod = 0;
    }
    if (n !== was) this.emit('change', n);
  }
}
