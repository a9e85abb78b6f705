// The client's durable spool: every message read from ZeroMQ is appended here before it counts as read, and
// the sender is fed from here, in read order, a bounded window at a time; a message leaves the spool only
// when the sender is done with it (200 or dead-lettered). While the sender keeps up, a message is handed to
// it straight from memory after the append, so the disk is only read back after an outage or a restart.
//
// Memory: the window is bounded in messages (in_stream.inflight_ops) and in bytes (spool.memory_bytes), and
// the bytes count every message the spool holds in memory — handed out, or read back and waiting to be —
// plus the free buffers kept for reading back (read-buffers.ts). Whatever is beyond it waits on disk. Only
// a single message larger than the budget may exceed it, and only while nothing is out with the sender.
//
// End-of-stream messages live in a log of their own ("end-of-stream/") and are merged back by sequence
// number when fed, so evicting old messages (when_full: drop_oldest) never has to step over one, and a
// reserve of the capacity is kept for them: they are never dropped.
//
// Every message has an identity (instance id, sequence number). The instance id lives in `instance` and is
// renewed only when the spool is empty at start, so a message sent again after a crash carries the same
// identity as before and our server can drop it as a duplicate (src/server/duplicates.ts).
import { GatewayError } from '../errors/index.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PartHealth } from '../health/index.js';
import { MAX_FRAMES, recordLength, type SpoolMessage, type StoredMessage } from './record.js';
import { ReadBuffers } from './read-buffers.js';
import {
  FRESH_BUFFERS,
  SegmentLog,
  type BodyAllocator,
  type ReadItem,
  type Segment,
  type SyncMode,
} from './segment-log.js';

export type WhenFull = 'block' | 'drop_oldest' | 'drop_newest';

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  whenFull: WhenFull;
  sync: SyncMode;
  /** for sync "periodic" */
  syncIntervalMs: number;
  /** bytes of messages the spool may hold in memory (spool.memory_bytes; default DEFAULT_MEMORY_BYTES) */
  memoryBytes?: number;
}

/** The default of spool.memory_bytes (src/config/client.ts states the same for the configuration). */
export const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;

/** Why a message did not make it into (or was taken out of) the spool undelivered. */
export type DropReason = 'evicted_oldest' | 'refused_full' | 'refused_write_error' | 'too_large';

/** What the spool tells its observer (metrics and logs live in observe.ts, not here). */
export interface SpoolEvents {
  dropped(reason: DropReason, topic: Uint8Array): void;
  damaged(file: string, offset: number, skipped: number, reason: string): void;
  writeFailed(error: Error): void;
  writeRecovered(): void;
}

/** A spooled message out with the sender; give it back with complete(). */
export interface SpooledEntry extends StoredMessage {
  /** message + extra frame bytes */
  readonly bytes: number;
}

interface Held extends SpooledEntry {
  log: SegmentLog;
  segment: Segment;
  /** bytes this entry holds in memory (its read-back buffer, or its frames as read from ZeroMQ) */
  memory: number;
  /** the read-back buffer its frames lie in, given back to the pool when it completes */
  buffer?: Buffer;
}

export type Admission =
  | { kind: 'stored'; seq: number; durable: Promise<void> }
  | { kind: 'dropped'; reason: DropReason }
  | { kind: 'stopped' };

export class SpoolError extends GatewayError {
  declare readonly code: 'spool_unusable' | 'spool_locked' | 'spool_not_found';
  constructor(code: 'spool_unusable' | 'spool_locked' | 'spool_not_found', message: string) {
    super(code, message);
  }
}

const DONE = Promise.resolve();

/** What a read buffer may take beyond a record's length (read-buffers.ts rounds sizes up to 4 KiB). */
const OVERSIZE_SLACK = 4 * 1024;

/** Numbers skipped after a reboot without a clean stop: far more than can be appended in a sync interval. */
const SEQ_GAP_AFTER_REBOOT = 2 ** 24;

/** Health turns degraded at this share of max_bytes. */
export const DEGRADED_SHARE = 0.8;
/** How often a blocked writer tries again when nothing else wakes it (a disk that got space back). */
const RETRY_WRITE_MS = 500;

/** Capacity kept for end-of-stream messages: 1% of max_bytes, at least 64 KiB, at most 16 MiB. */
export function endOfStreamReserve(maxBytes: number): number {
  return Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(maxBytes / 100)));
}

/** Segment files are 1/16 of max_bytes (1–64 MiB): space comes back a whole segment at a time. */
export function segmentBytes(maxBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.floor(maxBytes / 16)));
}

export class Spool {
  private nextSeq: number;
  private readonly window = new Set<Held>();
  private windowLimit = 0;
  private consumer?: (e: SpooledEntry) => void;
  private peeked = new Map<SegmentLog, Held | null>();
  private waiters: (() => void)[] = [];
  private writeError?: { since: number; message: string };
  private closed = false;
  /** false once shutting down: nothing new is admitted or handed out */
  private active = true;
  private readonly syncTimer?: NodeJS.Timeout;
  private readonly reserve: number;
  /** the last message that was not end-of-stream found no room; cleared by the next store */
  private full = false;
  private readonly memoryBudget: number;
  /** bytes held by entries handed out or peeked (see Held.memory) */
  private held = 0;
  /** the most `held + free read buffers` ever was (for tests and docs/spool.md) */
  private peakMemory = 0;
  private readonly readBuffers = new ReadBuffers();
  /** read-back bodies: from the pool, within what the budget leaves */
  private readonly pooledBodies: BodyAllocator = {
    take: (length) => this.readBuffers.take(length, this.room(length)),
    giveBack: (b) => this.readBuffers.give(b, this.memoryBudget - this.held),
  };

  private constructor(
    private readonly opts: SpoolOptions,
    private readonly events: SpoolEvents,
    private readonly main: SegmentLog,
    private readonly eos: SegmentLog,
    readonly instanceId: string,
    private readonly lockFile: string,
    seqGap: number,
  ) {
    this.nextSeq = Math.max(main.highestSeq(), eos.highestSeq()) + 1 + seqGap;
    for (const u of [...main.unusable, ...eos.unusable]) events.damaged(u.file, 0, 0, u.reason);
    this.reserve = endOfStreamReserve(opts.maxBytes);
    this.memoryBudget = opts.memoryBytes ?? DEFAULT_MEMORY_BYTES;
    if (opts.sync === 'periodic') {
      this.syncTimer = setInterval(() => this.flushAll().catch(() => undefined), opts.syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  /** Opens or creates the spool; a directory that cannot be used is a SpoolError naming it. */
  static open(opts: SpoolOptions, events: SpoolEvents): Spool {
    const dir = opts.dir;
    let lockFile: string | undefined;
    try {
      fs.mkdirSync(dir, { recursive: true });
      const lock = takeLock(dir);
      lockFile = lock.file;
      const segBytes = segmentBytes(opts.maxBytes);
      const main = SegmentLog.open(path.join(dir, 'messages'), segBytes, opts.sync);
      const eos = SegmentLog.open(path.join(dir, 'end-of-stream'), 1024 * 1024, opts.sync);
      const empty = main.live() + eos.live() === 0;
      const instanceId = instanceFor(dir, empty);
      // The machine went down under the last owner: what it appended in its last sync interval may be gone
      // from the disk although the sender had it forwarded (under this instance id), so those numbers are
      // not given out again: our server would drop the new messages as duplicates.
      const gap = lock.previousBoot && !empty ? SEQ_GAP_AFTER_REBOOT : 0;
      return new Spool(opts, events, main, eos, instanceId, lockFile, gap);
    } catch (err) {
      if (lockFile) releaseLock(lockFile);
      if (err instanceof SpoolError) throw err;
      throw new SpoolError(
        'spool_unusable',
        `spool directory ${dir} cannot be used: ${(err as Error).message}`,
      );
    }
  }

  /** Starts feeding the sender: at most `windowLimit` entries out at a time, replaying the backlog first. */
  start(consumer: (e: SpooledEntry) => void, windowLimit: number): void {
    this.consumer = consumer;
    this.windowLimit = Math.max(1, windowLimit);
    this.feed();
  }

  /**
   * Appends a message read from ZeroMQ, applying when_full. Returns (synchronously when it fits and the
   * write succeeds, the common case) once it is stored (its `durable` resolves when the sync setting says it
   * is on disk), dropped, or the spool closed while it waited.
   */
  admit(m: SpoolMessage): Admission | Promise<Admission> {
    const length = recordLength(m);
    // cannot be stored at all: neither waiting nor evicting would ever make room for it
    if (m.data.length + 1 > MAX_FRAMES) return this.drop('too_large', m);
    if (!m.endOfStream && length > this.opts.maxBytes - this.reserve) return this.drop('too_large', m);
    if (this.active && this.fits(length, m.endOfStream)) {
      try {
        return this.store(m);
      } catch (err) {
        this.noteWriteError(err as Error);
      }
    }
    return this.admitWhenFull(m, length);
  }

  /** The slow path of admit(): the spool is full or the last write failed. */
  private async admitWhenFull(m: SpoolMessage, length: number): Promise<Admission> {
    let evictionTried = false;
    for (;;) {
      if (!this.active) return { kind: 'stopped' };
      if (!this.fits(length, m.endOfStream) && this.opts.whenFull === 'drop_oldest')
        this.evictFor(length, m.endOfStream);
      if (!this.fits(length, m.endOfStream)) {
        this.full = true;
        if (m.endOfStream || this.opts.whenFull === 'block') {
          await this.spaceOrTimeout();
          continue;
        }
        return this.drop('refused_full', m);
      }
      try {
        return this.store(m);
      } catch (err) {
        this.noteWriteError(err as Error);
        if (m.endOfStream || this.opts.whenFull === 'block') {
          await this.spaceOrTimeout();
          continue;
        }
        if (this.opts.whenFull === 'drop_oldest' && !evictionTried) {
          evictionTried = true;
          if (this.evictFor(this.opts.maxBytes, false) > 0) continue;
        }
        return this.drop('refused_write_error', m);
      }
    }
  }

  private fits(length: number, endOfStream: boolean): boolean {
    const limit = endOfStream ? this.opts.maxBytes : this.opts.maxBytes - this.reserve;
    return this.bytes() + length <= limit;
  }

  private store(m: SpoolMessage): Admission {
    const log = m.endOfStream ? this.eos : this.main;
    const direct = this.canHandOff(m);
    const seq = this.nextSeq;
    const time = Date.now();
    const { segment } = log.append(m, seq, time);
    this.nextSeq++;
    this.full = false;
    if (this.writeError) {
      this.writeError = undefined;
      this.events.writeRecovered();
    }
    if (direct) {
      log.handOffAtTail(segment);
      const bytes = messageBytes(m);
      this.hold(bytes);
      this.handOut({ ...m, seq, time, bytes, memory: bytes, log, segment });
    } else {
      this.feed();
    }
    const durable =
      this.opts.sync === 'always' ? log.flush().catch((err: Error) => this.syncFailed(err)) : DONE;
    // Only an acknowledgement on persist waits for it; a failed sync must not end the process meanwhile
    // as an unhandled rejection (the failure is counted and shown in /health by syncFailed).
    durable.catch(() => undefined);
    return { kind: 'stored', seq, durable };
  }

  /** Nothing older waits on disk and the window has room: the new message can go straight out. */
  private canHandOff(m: SpoolMessage): boolean {
    return (
      this.active &&
      this.consumer !== undefined &&
      this.window.size < this.windowLimit &&
      messageBytes(m) <= this.room(0) &&
      !this.peeked.get(this.main) &&
      !this.peeked.get(this.eos) &&
      this.main.atTail() &&
      this.eos.atTail()
    );
  }

  /** The sender is done with an entry (delivered or dead-lettered): it leaves the spool. */
  complete(entry: SpooledEntry): void {
    const held = entry as Held;
    if (!this.window.delete(held)) return;
    held.log.finish(held.segment, held.seq);
    this.release(held);
    this.wake();
    this.feed();
  }

  /**
   * Bytes the memory budget has left for a new entry of `length` bytes (free read buffers count as used).
   * With nothing out with the sender, an entry larger than that still fits: a message is never stuck.
   */
  private room(length: number): number {
    const left = this.memoryBudget - this.held;
    return this.window.size === 0 ? Math.max(left, length + OVERSIZE_SLACK) : left;
  }

  private hold(bytes: number): void {
    this.held += bytes;
    this.peakMemory = Math.max(this.peakMemory, this.held + this.readBuffers.freeBytes());
  }

  private release(entry: Held): void {
    this.held -= entry.memory;
    if (entry.buffer) this.readBuffers.give(entry.buffer, this.memoryBudget - this.held);
  }

  /** What the spool holds in memory now and at most so far (bytes), against its budget. */
  memory(): { held: number; free: number; peak: number; budget: number; window: number } {
    return {
      held: this.held,
      free: this.readBuffers.freeBytes(),
      peak: this.peakMemory,
      budget: this.memoryBudget,
      window: this.window.size,
    };
  }

  private handOut(entry: Held): void {
    this.window.add(entry);
    this.consumer!(entry);
  }

  private feeding = false;

  /** Hands out entries from disk, oldest sequence first across both logs, while the window has room. */
  private feed(): void {
    if (this.feeding || !this.consumer) return;
    this.feeding = true;
    try {
      while (this.active && this.window.size < this.windowLimit) {
        const a = this.peek(this.main);
        const b = this.peek(this.eos);
        if (!a && !b) break;
        // one log's next record may only be waiting for memory: its sequence number is unknown, so the
        // other log's record cannot be put before it
        if ((!a && !this.main.atTail()) || (!b && !this.eos.atTail())) break;
        const next = !b || (a && a.seq < b.seq) ? a! : b;
        this.peeked.set(next.log, null);
        this.handOut(next);
      }
    } finally {
      this.feeding = false;
    }
  }

  /**
   * The oldest record of `log` not handed out yet, read into a buffer from `bodies`; undefined at the tail
   * or when the memory budget has no room for it now (a completion frees some and feeds again).
   */
  private peek(log: SegmentLog, bodies: BodyAllocator = this.pooledBodies): Held | undefined {
    const held = this.peeked.get(log);
    if (held) return held;
    for (;;) {
      const item: ReadItem | undefined = log.next(bodies);
      if (!item || item.kind === 'wait') return undefined;
      if (item.kind === 'damage') {
        this.events.damaged(item.segment.file, item.offset, item.skipped, item.reason);
        continue;
      }
      const m = item.message;
      const pooled = bodies === this.pooledBodies;
      const memory = pooled ? item.buffer.length : 0;
      const entry: Held = {
        ...m,
        bytes: messageBytes(m),
        log,
        segment: item.segment,
        memory,
        buffer: pooled ? item.buffer : undefined,
      };
      this.hold(memory);
      this.peeked.set(log, entry);
      return entry;
    }
  }

  /** Drops the oldest messages not yet handed out until `length` fits; returns how many went. */
  private evictFor(length: number, endOfStream: boolean): number {
    let evicted = 0;
    while (!this.fits(length, endOfStream)) {
      // evicted records are only read for their identity: fresh buffers, outside the memory budget
      const held = this.peek(this.main, FRESH_BUFFERS);
      if (!held) break;
      this.peeked.set(this.main, null);
      held.log.finish(held.segment, held.seq);
      this.release(held);
      this.events.dropped('evicted_oldest', held.topic);
      evicted++;
    }
    return evicted;
  }

  private drop(reason: DropReason, m: SpoolMessage): Admission {
    this.events.dropped(reason, m.topic);
    return { kind: 'dropped', reason };
  }

  private syncFailed(err: Error): never {
    this.noteWriteError(err);
    throw err;
  }

  private noteWriteError(err: Error): void {
    this.events.writeFailed(err);
    this.writeError ??= { since: Date.now(), message: err.message };
  }

  /** Resolves when an entry completes (space may have come back), after RETRY_WRITE_MS, or on close. */
  private spaceOrTimeout(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, RETRY_WRITE_MS);
      timer.unref();
      this.waiters.push(done);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private flushAll(): Promise<unknown> {
    return Promise.all([this.main.flush(), this.eos.flush()]).catch((err: Error) => {
      this.noteWriteError(err);
    });
  }

  /** Bytes on disk (both logs, with their finished lists). */
  bytes(): number {
    return this.main.bytes() + this.eos.bytes();
  }

  stats(): { bytes: number; messages: number; maxBytes: number; oldestTime?: number; inWindow: number } {
    let oldestTime: number | undefined;
    for (const e of this.window) if (oldestTime === undefined || e.time < oldestTime) oldestTime = e.time;
    for (const p of this.peeked.values())
      if (p && (oldestTime === undefined || p.time < oldestTime)) oldestTime = p.time;
    return {
      bytes: this.bytes(),
      messages: this.main.live() + this.eos.live(),
      maxBytes: this.opts.maxBytes,
      oldestTime,
      inWindow: this.window.size,
    };
  }

  health(): PartHealth {
    const reasons: string[] = [];
    const used = this.bytes();
    if (used >= DEGRADED_SHARE * this.opts.maxBytes) {
      reasons.push(
        `spool ${Math.floor((used / this.opts.maxBytes) * 100)}% full (${used} of ${this.opts.maxBytes} bytes in ${this.opts.dir})`,
      );
    }
    if (this.writeError) {
      reasons.push(
        `spool writes failing since ${new Date(this.writeError.since).toISOString()}: ${this.writeError.message}`,
      );
    }
    return { healthy: reasons.length === 0, reasons };
  }

  /**
   * Why the spool cannot take what the source sends (for /readyz): the last message found no room (blocked or
   * refused; eviction under drop_oldest makes room and is not "full"), or writes fail.
   */
  notReady(): string[] {
    const reasons: string[] = [];
    if (this.full)
      reasons.push(
        `spool full (${this.bytes()} of ${this.opts.maxBytes} bytes, when_full=${this.opts.whenFull})`,
      );
    if (this.writeError) reasons.push(`spool writes failing: ${this.writeError.message}`);
    return reasons;
  }

  /** Shutting down: admits nothing more (blocked writers get 'stopped') and hands nothing new out. */
  quiesce(): void {
    this.active = false;
    this.wake();
  }

  /** Syncs and closes the files. Entries still out with the sender stay spooled. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.quiesce();
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.wake();
    await this.flushAll();
    this.main.close();
    this.eos.close();
    releaseLock(this.lockFile);
  }
}

function messageBytes(m: SpoolMessage): number {
  return m.message.length + m.data.reduce((n, d) => n + d.length, 0);
}

/** Lock files this process holds (a second Spool on the same directory in one process is refused too). */
const heldLocks = new Set<string>();

/**
 * One client per spool directory: `lock` names the owner as `<pid> <boot id> <start time>`. The lock is
 * created whole in one step (a hard link of a file already written), so another client never reads it
 * half-written. A lock whose owner is gone is taken over: the pid is dead, or it now belongs to another
 * process (pids are reused, after a reboot almost surely), which the boot id and start time tell apart.
 * The lock is never read or written through a symlink, nor opened if it is a FIFO.
 */
function takeLock(dir: string): { file: string; previousBoot: boolean } {
  const file = path.resolve(dir, 'lock');
  if (heldLocks.has(file)) throw new SpoolError('spool_locked', `spool directory ${dir} is already open`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  const stamp = processStamp(process.pid);
  let previousBoot = false;
  fs.writeFileSync(tmp, `${[process.pid, ...(stamp ?? [])].join(' ')}\n`, { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, file);
        heldLocks.add(file);
        return { file, previousBoot };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readLock(file);
      if (owner && ownerAlive(owner))
        throw new SpoolError('spool_locked', `spool directory ${dir} is in use by process ${owner.pid}`);
      // left by an owner of another boot: the machine went down without a clean stop
      if (owner?.stamp?.length && stamp) previousBoot ||= owner.stamp[0] !== stamp[0];
      // stale: removed unless it changed since it was read (then another client just took it: look again)
      if (owner === undefined || sameEntry(file, owner.ino)) removeStaleLock(file);
    }
    throw new SpoolError('spool_locked', `spool directory ${dir} is being taken over by another process`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

interface LockOwner {
  ino: number;
  pid?: number;
  stamp?: string[];
}

/** The lock's owner; `pid` undefined when it names none (empty, garbage, not a regular file); undefined if gone. */
function readLock(file: string): LockOwner | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'EISDIR') return { ino: fs.lstatSync(file).ino };
    throw err;
  }
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile() || info.size > 4096) return { ino: info.ino };
    const [pid, ...stamp] = fs.readFileSync(fd, 'utf8').trim().split(' ');
    return /^\d{1,10}$/.test(pid) ? { ino: info.ino, pid: Number(pid), stamp } : { ino: info.ino };
  } finally {
    fs.closeSync(fd);
  }
}

function ownerAlive(owner: LockOwner): boolean {
  const pid = owner.pid;
  if (pid === undefined || pid === process.pid || !processAlive(pid)) return false;
  const now = processStamp(pid);
  // a lock that names the process's boot and start time belongs to it only if they still match
  if (owner.stamp?.length && now) return owner.stamp.join(' ') === now.join(' ');
  return true;
}

/** Boot id and start time (clock ticks since boot) of a process, from /proc; undefined elsewhere. */
function processStamp(pid: number): string[] | undefined {
  try {
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22; the command name (field 2) is in parentheses and may hold spaces, so count after it
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return boot && start ? [boot, start] : undefined;
  } catch {
    return undefined;
  }
}

function sameEntry(file: string, ino: number): boolean {
  try {
    return fs.lstatSync(file).ino === ino;
  } catch {
    return false;
  }
}

function removeStaleLock(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseLock(file: string): void {
  heldLocks.delete(file);
  try {
    fs.unlinkSync(file);
  } catch {
    // gone already, or the file system went read-only: the next start takes a dead owner's lock over
  }
}

const INSTANCE_ID = /^[0-9a-f]{32}$/;

/** The instance id: kept while messages are pending (they must be recognisable when sent again), else new. */
function instanceFor(dir: string, empty: boolean): string {
  const file = path.join(dir, 'instance');
  if (!empty) {
    try {
      const id = fs.readFileSync(file, 'utf8').trim();
      if (INSTANCE_ID.test(id)) return id;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const id = randomBytes(16).toString('hex');
  const tmp = `${file}.tmp`;
  // created afresh (O_EXCL): never written through whatever was left under that name
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, `${id}\n`, { flag: 'wx' });
  fs.renameSync(tmp, file);
  return id;
}
