// What the spool is seen doing: Prometheus families (bytes, messages, age of the oldest message, drops by
// reason, damaged records, write errors) and rate-limited log lines. Kept apart from spool.ts, which only
// reports events through SpoolEvents.
import { Counter, Gauge } from 'prom-client';
import { family } from '../metrics/index.js';
import { logger } from '../util/index.js';
import type { DropReason, Spool, SpoolEvents } from './spool.js';

const log = logger('media_gateway::spool');
const r: [] = [];

/** The spool the gauges read at scrape time (one per process). */
let current: Spool | undefined;

export const spoolBytes = family(
  'spool',
  new Gauge({
    name: 'media_gateway_spool_bytes',
    help: 'Bytes the client spool takes on disk',
    registers: r,
    collect() {
      this.set(current?.stats().bytes ?? 0);
    },
  }),
);
export const spoolCapacityBytes = family(
  'spool',
  new Gauge({
    name: 'media_gateway_spool_capacity_bytes',
    help: 'The spool max_bytes',
    registers: r,
    collect() {
      this.set(current?.stats().maxBytes ?? 0);
    },
  }),
);
export const spoolMessages = family(
  'spool',
  new Gauge({
    name: 'media_gateway_spool_messages',
    help: 'Messages in the client spool (not yet delivered or dead-lettered)',
    registers: r,
    collect() {
      this.set(current?.stats().messages ?? 0);
    },
  }),
);
export const spoolMemoryBytes = family(
  'spool',
  new Gauge({
    name: 'media_gateway_spool_memory_bytes',
    help: 'Bytes of messages the client spool holds in memory (window and read-back buffers; at most memory_bytes)',
    registers: r,
    collect() {
      const m = current?.memory();
      this.set(m ? m.held + m.free : 0);
    },
  }),
);
export const spoolOldestAge = family(
  'spool',
  new Gauge({
    name: 'media_gateway_spool_oldest_age_seconds',
    help: 'Age of the oldest message in the spool (0 when empty)',
    registers: r,
    collect() {
      const oldest = current?.stats().oldestTime;
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  }),
);
export const spoolDroppedTotal = family(
  'spool',
  new Counter({
    name: 'media_gateway_spool_dropped_total',
    help: 'Messages the spool dropped, by reason (evicted_oldest, refused_full, refused_write_error, too_large)',
    labelNames: ['reason'] as const,
    registers: r,
  }),
);
export const spoolCorruptTotal = family(
  'spool',
  new Counter({
    name: 'media_gateway_spool_corrupt_records_total',
    help: 'Damaged spool records (bad header, checksum mismatch, torn write) skipped',
    registers: r,
  }),
);
export const spoolWriteErrorsTotal = family(
  'spool',
  new Counter({
    name: 'media_gateway_spool_write_errors_total',
    help: 'Spool writes or syncs that failed (disk full, read-only, I/O error)',
    registers: r,
  }),
);

/** Makes `spool` the one the gauges report. */
export function observeSpool(spool: Spool | undefined): void {
  current = spool;
}

const DROP_LOG_INTERVAL_MS = 5000;

/** Topic bytes a log line shows; the logger escapes what a terminal would act on. */
const TOPIC_LOG_BYTES = 256;

/** Peer-supplied topic bytes, quoted and escaped for a log line, cut to a bounded length (any frame size). */
function topicText(topic: Uint8Array): string {
  const text = Buffer.from(topic.subarray(0, TOPIC_LOG_BYTES)).toString('utf8');
  return JSON.stringify(topic.length > TOPIC_LOG_BYTES ? `${text}…` : text);
}

/** Counters and log lines for a spool's events; drops are logged at most once per reason every 5 s. */
export function spoolEvents(): SpoolEvents & {
  counts: Record<DropReason | 'corrupt' | 'writeErrors', number>;
} {
  const counts = {
    evicted_oldest: 0,
    refused_full: 0,
    refused_write_error: 0,
    too_large: 0,
    corrupt: 0,
    writeErrors: 0,
  };
  const lastLogged = new Map<DropReason, { at: number; counted: number }>();
  let writeErrorLogged = false;
  return {
    counts,
    dropped(reason, topic) {
      counts[reason]++;
      spoolDroppedTotal.inc({ reason });
      const last = lastLogged.get(reason);
      // monotonic: a wall clock stepped back would silence these lines until it caught up
      const now = performance.now();
      if (last && now - last.at < DROP_LOG_INTERVAL_MS) return;
      const since = counts[reason] - (last?.counted ?? 0);
      lastLogged.set(reason, { at: now, counted: counts[reason] });
      log.warn(
        { reason, topic: topicText(topic), dropped: since, total: counts[reason] },
        'spool dropped messages',
      );
    },
    damaged(file, offset, skipped, reason) {
      counts.corrupt++;
      spoolCorruptTotal.inc();
      log.error({ file, offset, skipped_bytes: skipped, reason }, 'damaged spool record skipped');
    },
    writeFailed(error) {
      counts.writeErrors++;
      spoolWriteErrorsTotal.inc();
      if (!writeErrorLogged) log.error({ err: error.message }, 'spool write failed; applying when_full');
      writeErrorLogged = true;
    },
    writeRecovered() {
      writeErrorLogged = false;
      log.info('spool writes succeed again');
    },
  };
}
