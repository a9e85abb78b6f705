// An append-only log of spool records in segment files (`<first seq, 20 digits>.seg`), read back in order by
// one cursor. Records the consumer finished (delivered, dead-lettered or evicted) are listed in a sidecar
// `<same>.ack` (8-byte sequence numbers), so a restart skips them; a segment file is removed once the cursor
// has passed it and none of its records is still out with the consumer. The segment being written is never
// removed, so the highest sequence number always survives a restart (see spool.ts for why that matters).
// Damage is handled here: a record whose header or checksum is wrong is skipped up to the next record that
// checks out, and reported to the caller, never thrown.
import fs from 'node:fs';
import path from 'node:path';
import {
  bodyIntact,
  decodeBody,
  encodeRecord,
  HEADER_BYTES,
  readHeader,
  RECORD_MAGIC,
  summarize,
  SUMMARY_BYTES,
  type RecordSummary,
  type SpoolMessage,
  type StoredMessage,
} from './record.js';

export type SyncMode = 'always' | 'periodic' | 'never';

export interface Segment {
  /** from the file name; a drained segment is renamed after the next sequence number (see recycleTail) */
  firstSeq: number;
  file: string;
  ackFile: string;
  /** bytes of complete records (a failed write is truncated away, so this is also the file size) */
  size: number;
  ackSize: number;
  /** records finished before the last restart (read from the .ack file) */
  readonly finished: Set<number>;
  /** records handed to the consumer and not finished yet */
  outstanding: number;
  /** records not finished (known after the opening scan, kept up to date) */
  live: number;
  /** highest sequence number written to this segment (firstSeq - 1 while empty) */
  highestSeq: number;
}

export type ReadItem =
  | {
      kind: 'record';
      message: StoredMessage;
      segment: Segment;
      length: number;
      /** the buffer from the caller's allocator that the message's frames lie in */
      buffer: Buffer;
    }
  | { kind: 'damage'; segment: Segment; offset: number; skipped: number; reason: string }
  /** the caller's allocator had no room for the next record's body: nothing was consumed */
  | { kind: 'wait'; length: number };

/**
 * Where a record's body is read into: a buffer of at least `length` bytes, or undefined for "not now". A
 * buffer the read did not end up in a message (damage) is handed back through `giveBack`.
 */
export interface BodyAllocator {
  take(length: number): Buffer | undefined;
  giveBack(b: Buffer): void;
}

/** Fresh Buffers, never "not now" (inspection, export, eviction, damage resynchronisation). */
export const FRESH_BUFFERS: BodyAllocator = {
  take: (length) => Buffer.allocUnsafe(length),
  giveBack: () => undefined,
};

const SEGMENT_NAME = /^(\d{20})\.seg$/;
const RESYNC_CHUNK = 1024 * 1024;

/** A spool entry that is not a regular file of ours (a directory, symlink, FIFO...): reported, left alone. */
export interface UnusableEntry {
  file: string;
  reason: string;
}

export class SegmentLog {
  readonly segments: Segment[] = [];
  /** entries found at open that are not regular files; their names still count for numbering */
  readonly unusable: UnusableEntry[] = [];
  private reservedSeq = 0;
  private cursor = { index: 0, offset: 0 };
  private fd: number | undefined;
  private sealed = false;
  private readonly ackFds = new Map<Segment, number>();
  private readonly readFds = new Map<Segment, number>();
  private readonly ahead = new ReadAhead();
  private pendingAcks = new Map<Segment, number[]>();
  private ackFlush: NodeJS.Immediate | undefined;
  private syncing: Promise<void> | undefined;
  /** the descriptor the running sync works on (closeWriter waits for it before closing that one) */
  private syncingFd: number | undefined;
  /** the sync that starts when the running one ends, shared by every flush() asked for meanwhile */
  private nextSync: Promise<void> | undefined;
  /** fdatasync calls made by flush() so far (group commit shows in tests as fewer syncs than appends) */
  syncCount = 0;
  private dirty = false;

  private constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    private readonly sync: SyncMode,
  ) {}

  /** Opens (creating) `dir`, loads every segment's finished list and counts its records. */
  static open(dir: string, segmentBytes: number, sync: SyncMode): SegmentLog {
    fs.mkdirSync(dir, { recursive: true });
    const log = new SegmentLog(dir, segmentBytes, sync);
    const names = fs
      .readdirSync(dir)
      .filter((n) => SEGMENT_NAME.test(n))
      .sort();
    for (const name of names) {
      try {
        log.segments.push(log.loadSegment(name));
      } catch (err) {
        if (!(err instanceof NotRegularFile)) throw err;
        log.unusable.push({ file: path.join(dir, name), reason: err.message });
        // its name must never be created again, and numbering must not go back below it
        log.reservedSeq = Math.max(log.reservedSeq, Number(SEGMENT_NAME.exec(name)![1]));
      }
    }
    log.removeOrphanAcks();
    return log;
  }

  /** Finished lists whose segment is gone (a kill between the two unlinks): they must not name a later file. */
  private removeOrphanAcks(): void {
    for (const name of fs.readdirSync(this.dir)) {
      const m = /^(\d{20})\.ack$/.exec(name);
      if (m && !fs.existsSync(path.join(this.dir, `${m[1]}.seg`))) removeFile(path.join(this.dir, name));
    }
  }

  private loadSegment(name: string): Segment {
    const file = path.join(this.dir, name);
    const ackFile = file.replace(/\.seg$/, '.ack');
    const size = regularFileSize(file);
    let finished = new Set<number>();
    let ackSize = 0;
    try {
      ({ finished, size: ackSize } = readFinished(ackFile));
    } catch (err) {
      if (!(err instanceof NotRegularFile)) throw err;
      // not ours: its records are simply delivered again (at-least-once); appends to it fail and are ignored
      this.unusable.push({ file: ackFile, reason: err.message });
    }
    const firstSeq = Number(SEGMENT_NAME.exec(name)![1]);
    const seg: Segment = {
      firstSeq,
      file,
      ackFile,
      size,
      ackSize,
      finished,
      outstanding: 0,
      live: 0,
      highestSeq: firstSeq - 1,
    };
    const offsets: number[] = [];
    for (const s of scanSummaries(seg.file, seg.size)) {
      if (s.kind !== 'record') continue;
      offsets.push(s.offset);
      if (!finished.has(s.summary.seq)) seg.live++;
    }
    seg.highestSeq = highestWritten(seg, offsets);
    return seg;
  }

  /** Highest sequence number ever written here (0 when empty). */
  highestSeq(): number {
    return this.segments.reduce((m, s) => Math.max(m, s.highestSeq), this.reservedSeq);
  }

  /** Records not finished. */
  live(): number {
    return this.segments.reduce((n, s) => n + s.live, 0);
  }

  /** Bytes on disk: segments and their finished lists. */
  bytes(): number {
    return this.segments.reduce((n, s) => n + s.size + s.ackSize, 0);
  }

  /** True when the cursor has read everything written. */
  atTail(): boolean {
    const last = this.segments.length - 1;
    return last < 0 || (this.cursor.index >= last && this.cursor.offset >= this.segments[last].size);
  }

  /**
   * Appends one record; throws the file system's error (ENOSPC, EROFS, EIO...) after cutting a partial
   * write back off, so the file never keeps a torn record of ours.
   */
  append(m: SpoolMessage, seq: number, time: number): { segment: Segment; length: number } {
    const { chunks, length } = encodeRecord(m, seq, time);
    const seg = this.writableSegment(seq, length);
    const before = seg.size;
    try {
      // positioned: a drained segment is truncated and written again from 0 (recycleTail)
      let written = 0;
      while (written < length) {
        const rest = written === 0 ? chunks : remaining(chunks, written);
        written += fs.writevSync(this.fd!, rest, before + written);
      }
    } catch (err) {
      this.truncateAfterFailure(before);
      throw err;
    }
    seg.size += length;
    seg.live++;
    seg.highestSeq = seq;
    this.dirty = true;
    // failures reach whoever waits on flush() (the spool counts them); none is left unhandled here
    if (this.sync === 'always') this.flush().catch(() => undefined);
    return { segment: seg, length };
  }

  private writableSegment(seq: number, length: number): Segment {
    const last = this.segments.at(-1);
    if (
      this.fd !== undefined &&
      last &&
      !this.sealed &&
      (last.size === 0 || last.size + length <= this.segmentBytes)
    )
      return last;
    return this.startSegment(seq);
  }

  private startSegment(seq: number): Segment {
    const last = this.segments.at(-1);
    // After a restart the tail may already carry this very name: the file a drained spool was recycled into
    // (recycleTail, possibly cut short by a kill before its truncation), or one a kill left between creating
    // it and writing to it. It is written on instead of created.
    if (this.fd === undefined && last && last.firstSeq === seq) return this.adoptTail(last);
    const name = `${String(seq).padStart(20, '0')}.seg`;
    const file = path.join(this.dir, name);
    const fd = fs.openSync(file, 'wx');
    removeFile(file.replace(/\.seg$/, '.ack'));
    this.closeWriter();
    this.fd = fd;
    this.sealed = false;
    const seg: Segment = {
      firstSeq: seq,
      file,
      ackFile: file.replace(/\.seg$/, '.ack'),
      size: 0,
      ackSize: 0,
      finished: new Set(),
      outstanding: 0,
      live: 0,
      highestSeq: seq - 1,
    };
    this.segments.push(seg);
    if (this.sync === 'always') syncDirectory(this.dir);
    this.releaseFinished();
    return seg;
  }

  /** Appends to the tail segment found at open; the finished list of an empty one names no record of ours. */
  private adoptTail(seg: Segment): Segment {
    const fd = openRegular(seg.file, fs.constants.O_RDWR);
    if (seg.size === 0) {
      removeFile(seg.ackFile);
      seg.finished.clear();
      seg.ackSize = 0;
    }
    this.fd = fd;
    this.sealed = false;
    return seg;
  }

  private truncateAfterFailure(size: number): void {
    try {
      fs.ftruncateSync(this.fd!, size);
    } catch {
      // cannot even cut it: write the next record into a new segment; readers stop at `size` anyway
      this.sealed = true;
    }
  }

  private closeWriter(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      if (this.sync !== 'never' && this.dirty) fs.fdatasyncSync(fd);
    } catch {
      // the data is still in the page cache; a later failure shows up as a write error
    }
    // An fdatasync from flush() may still wait for a thread of libuv's pool: closed under it, it failed with
    // EBADF (or synced whichever file got the number next), failing every waiter although the sync just
    // made above covers their records. The descriptor is closed once that sync has run.
    if (this.syncingFd === fd && this.syncing) {
      const close = (): void => fs.closeSync(fd);
      this.syncing.then(close, close);
    } else fs.closeSync(fd);
  }

  /**
   * Resolves once everything appended so far is on disk (fdatasync). Appends made while a sync runs share
   * the one sync that starts when it ends (group commit): one promise per caller, and every caller is done
   * after at most two syncs however fast appends keep coming.
   */
  flush(): Promise<void> {
    if (this.syncing) {
      const next = (): Promise<void> => {
        this.nextSync = undefined;
        return this.flush();
      };
      this.nextSync ??= this.syncing.then(next, next);
      return this.nextSync;
    }
    if (!this.dirty || this.fd === undefined) return Promise.resolve();
    this.dirty = false;
    const fd = this.fd;
    this.syncCount++;
    this.syncingFd = fd;
    this.syncing = new Promise<void>((resolve, reject) =>
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())),
    ).finally(() => {
      this.syncing = undefined;
      this.syncingFd = undefined;
    });
    return this.syncing;
  }

  /**
   * The next record at the cursor (skipping finished ones), read into a buffer from `bodies`; damage found
   * there; `wait` when `bodies` has no room now (the cursor stays); or undefined at the tail.
   */
  next(bodies: BodyAllocator = FRESH_BUFFERS): ReadItem | undefined {
    for (;;) {
      const seg = this.segments[this.cursor.index];
      if (!seg) return undefined;
      if (this.cursor.offset >= seg.size) {
        if (this.cursor.index >= this.segments.length - 1) return undefined;
        this.cursor = { index: this.cursor.index + 1, offset: 0 };
        this.releaseFinished();
        continue;
      }
      const item = readRecordFd(this.readFd(seg), seg, this.cursor.offset, bodies, this.ahead);
      if (item.kind === 'wait') return item;
      if (item.kind === 'damage') {
        this.cursor.offset += item.skipped;
        this.forgetDamaged(seg, item.offset, item.skipped);
        return item;
      }
      this.cursor.offset += item.length;
      if (seg.finished.has(item.message.seq)) {
        bodies.giveBack(item.buffer);
        continue;
      }
      seg.outstanding++;
      return item;
    }
  }

  /** Records of a damaged region that the opening scan counted as live will never be delivered. */
  private forgetDamaged(seg: Segment, offset: number, skipped: number): void {
    for (const s of scanSummaries(seg.file, offset + skipped, offset)) {
      if (s.kind === 'record' && !seg.finished.has(s.summary.seq)) seg.live = Math.max(0, seg.live - 1);
    }
  }

  /** Records that the consumer took a record handed out by next() (or by direct hand-off) off its hands. */
  finish(seg: Segment, seq: number): void {
    seg.outstanding--;
    seg.live--;
    let acks = this.pendingAcks.get(seg);
    if (!acks) this.pendingAcks.set(seg, (acks = []));
    acks.push(seq);
    // one write per segment per turn of the event loop, not one per message
    this.ackFlush ??= setImmediate(() => this.writeAcks());
    if (seg.outstanding === 0) {
      this.releaseFinished();
      this.recycleTail();
    }
  }

  /**
   * Everything written is finished: the segment being written gives its space back (truncated to 0) and is
   * renamed after the next sequence number, so the name still tells a restart where numbering goes on. Without
   * this a segment larger than the free space would fill the disk and never be freed.
   */
  private recycleTail(): void {
    const seg = this.segments.at(-1);
    if (!seg || this.fd === undefined || seg.size === 0 || seg.live > 0 || seg.outstanding > 0) return;
    if (!this.atTail()) return;
    const firstSeq = seg.highestSeq + 1;
    const file = path.join(this.dir, `${String(firstSeq).padStart(20, '0')}.seg`);
    // In this order, a kill between two steps leaves either delivered records under the new name without a
    // finished list (sent again, at-least-once) or an empty file; never a name whose number goes back and
    // a finished list that would mark the next records of that number as done.
    try {
      fs.renameSync(seg.file, file);
    } catch {
      return; // e.g. the file system went read-only: the space stays taken until the next segment
    }
    const ackFd = this.ackFds.get(seg);
    if (ackFd !== undefined) fs.closeSync(ackFd);
    this.ackFds.delete(seg);
    this.pendingAcks.delete(seg);
    removeFile(seg.ackFile);
    Object.assign(seg, { firstSeq, file, ackFile: file.replace(/\.seg$/, '.ack'), ackSize: 0 });
    seg.finished.clear();
    try {
      fs.ftruncateSync(this.fd, 0);
    } catch {
      this.sealed = true; // the space stays taken until the segment is passed and removed
      return;
    }
    seg.size = 0;
    // the bytes read ahead are the delivered records that the truncation just removed
    this.ahead.forget();
    this.cursor = { index: this.segments.length - 1, offset: 0 };
    if (this.sync === 'always') syncDirectory(this.dir);
  }

  /** Counts the record just appended as handed to the consumer at once (no read back); only at the tail. */
  handOffAtTail(seg: Segment): void {
    seg.outstanding++;
    this.cursor = { index: this.segments.length - 1, offset: seg.size };
  }

  private readFd(seg: Segment): number {
    let fd = this.readFds.get(seg);
    if (fd === undefined) this.readFds.set(seg, (fd = openRegular(seg.file, fs.constants.O_RDONLY)));
    return fd;
  }

  private writeAcks(): void {
    this.ackFlush = undefined;
    const pending = this.pendingAcks;
    this.pendingAcks = new Map();
    for (const [seg, seqs] of pending) {
      if (!this.segments.includes(seg)) continue;
      const b = Buffer.allocUnsafe(seqs.length * 8);
      seqs.forEach((s, i) => {
        b.writeUInt32LE(s % 0x100000000, i * 8);
        b.writeUInt32LE(Math.floor(s / 0x100000000), i * 8 + 4);
      });
      try {
        let fd = this.ackFds.get(seg);
        if (fd === undefined) this.ackFds.set(seg, (fd = openRegular(seg.ackFile, ACK_WRITE_FLAGS)));
        // at the end of the whole entries: half an entry left by a power loss or a short write on a full
        // disk is overwritten instead of shifting every later entry by a few bytes
        for (let done = 0; done < b.length;)
          done += fs.writeSync(fd, b, done, b.length - done, seg.ackSize + done);
        seg.ackSize += b.length;
      } catch {
        // Losing a finished list only means those records are sent again after a restart (at-least-once).
      }
    }
  }

  /** Removes segments the cursor has passed whose records are all finished (or evicted). */
  private releaseFinished(): void {
    for (let i = 0; i < this.cursor.index && i < this.segments.length - 1; i++) {
      const seg = this.segments[i];
      if (seg.outstanding > 0) continue;
      this.removeSegment(seg);
      this.segments.splice(i, 1);
      this.cursor.index--;
      i--;
    }
  }

  private removeSegment(seg: Segment): void {
    for (const fds of [this.ackFds, this.readFds]) {
      const fd = fds.get(seg);
      if (fd !== undefined) fs.closeSync(fd);
      fds.delete(seg);
    }
    this.pendingAcks.delete(seg);
    for (const f of [seg.file, seg.ackFile]) {
      try {
        fs.unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }

  /** Writes pending finished lists, syncs and closes the files. */
  close(): void {
    if (this.ackFlush) clearImmediate(this.ackFlush);
    this.writeAcks();
    for (const fds of [this.ackFds, this.readFds]) {
      for (const fd of fds.values()) fs.closeSync(fd);
      fds.clear();
    }
    this.closeWriter();
  }
}

function remaining(chunks: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}

/** A spool entry that is a directory, symlink, FIFO or device: never followed, read or written. */
class NotRegularFile extends Error {}

/** Finished lists are written at a position of ours (not O_APPEND): a torn last entry is overwritten. */
const ACK_WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT;

/**
 * Opens a spool file only if it is a regular file: O_NOFOLLOW refuses a symlink, O_NONBLOCK keeps a FIFO
 * from blocking the open (the spool never creates either). Throws NotRegularFile for those.
 */
function openRegular(file: string, flags: number): number {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new NotRegularFile('not a regular file (a symbolic link)');
    if (code === 'EISDIR') throw new NotRegularFile('not a regular file (a directory)');
    throw err;
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new NotRegularFile('not a regular file');
  }
  return fd;
}

function regularFileSize(file: string): number {
  const fd = openRegular(file, fs.constants.O_RDONLY);
  try {
    return fs.fstatSync(fd).size;
  } finally {
    fs.closeSync(fd);
  }
}

/** A segment's finished list (empty when there is none); a torn last entry (< 8 bytes) is ignored. */
function readFinished(ackFile: string): { finished: Set<number>; size: number } {
  const finished = new Set<number>();
  let fd: number;
  try {
    fd = openRegular(ackFile, fs.constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { finished, size: 0 };
    throw err;
  }
  let acks: Buffer;
  try {
    acks = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  for (let i = 0; i + 8 <= acks.length; i += 8) finished.add(Number(acks.readBigUInt64LE(i)));
  return { finished, size: acks.length - (acks.length % 8) };
}

function removeFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // not there (the common case), or the file system refuses: nothing better to do here
  }
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes read ahead at once when replaying small records; records above READ_AHEAD_RECORD_BYTES are read alone. */
const READ_AHEAD_BYTES = 64 * 1024;
const READ_AHEAD_RECORD_BYTES = 16 * 1024;

/**
 * Committed bytes of one segment read ahead in one pread, so that replaying small records costs one system
 * call per READ_AHEAD_BYTES instead of two per record (a header and a body read each were ~20% of the
 * client's CPU in a 1 KiB spool run, docs/spool.md). Only bytes below the segment's committed size are read:
 * those never change while the segment lives (a failed append is cut back above it), except when the
 * drained tail is truncated and written again from 0, which forgets them (SegmentLog.recycleTail). A view is
 * valid until the next call; callers copy out of it at once.
 */
class ReadAhead {
  private readonly buffer = Buffer.allocUnsafe(READ_AHEAD_BYTES);
  private seg: Segment | undefined;
  private start = 0;
  private valid = 0;

  /** `length` bytes at `offset` of `seg` from the bytes read ahead, refilled from `fd` when needed. */
  view(seg: Segment, fd: number, offset: number, length: number): Buffer | undefined {
    if (length > READ_AHEAD_RECORD_BYTES || offset + length > seg.size) return undefined;
    if (!this.holds(seg, offset, length)) this.fill(seg, fd, offset);
    if (!this.holds(seg, offset, length)) return undefined;
    const at = offset - this.start;
    return this.buffer.subarray(at, at + length);
  }

  forget(): void {
    this.seg = undefined;
    this.valid = 0;
  }

  private holds(seg: Segment, offset: number, length: number): boolean {
    return this.seg === seg && offset >= this.start && offset + length <= this.start + this.valid;
  }

  private fill(seg: Segment, fd: number, offset: number): void {
    this.forget();
    const want = Math.min(READ_AHEAD_BYTES, seg.size - offset);
    // preadInto gives back the whole buffer when it read all it was asked for: count what was asked
    const got = preadInto(fd, this.buffer, want, offset);
    this.seg = seg;
    this.start = offset;
    this.valid = Math.min(want, got.length);
  }
}

function preadExact(fd: number, length: number, position: number): Buffer {
  return preadInto(fd, Buffer.allocUnsafe(length), length, position);
}

/** Reads `length` bytes at `position` into the start of `b`; the part read (shorter at the end of file). */
function preadInto(fd: number, b: Buffer, length: number, position: number): Buffer {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, b, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? b : b.subarray(0, got);
}

/** The smallest record: header, fixed body, an empty topic, one empty frame. */
const MIN_RECORD_BYTES = HEADER_BYTES + 22 + 4;

/**
 * The highest sequence number the segment may have carried: that of the last record whose checksum holds
 * (records are appended in sequence order), plus one for every record that could fit in the damaged bytes
 * after it. The opening scan reads summaries without the checksum, and numbering must follow neither a
 * damaged number (one flipped bit made every later message share 2^54 + 1) nor reuse the number of a record
 * torn or damaged at the tail, which the server may have forwarded already under this instance.
 */
function highestWritten(seg: Segment, offsets: number[]): number {
  let highest = seg.firstSeq - 1;
  let end = 0;
  if (offsets.length > 0) {
    const fd = openRegular(seg.file, fs.constants.O_RDONLY);
    try {
      for (let i = offsets.length - 1; i >= 0; i--) {
        const tried = tryRecord(fd, offsets[i], seg.size);
        if (!tried.ok) continue;
        highest = Math.max(highest, tried.message.seq);
        end = offsets[i] + tried.length;
        break;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return highest + Math.ceil((seg.size - end) / MIN_RECORD_BYTES);
}

/** Reads and checks the record at `offset`; on damage, finds where the next intact record starts. */
function readRecordFd(
  fd: number,
  seg: Segment,
  offset: number,
  bodies: BodyAllocator,
  ahead: ReadAhead,
): ReadItem {
  const intact = tryRecord(fd, offset, seg.size, bodies, { ahead, seg });
  if (intact.ok)
    return {
      kind: 'record',
      message: intact.message,
      segment: seg,
      length: intact.length,
      buffer: intact.buffer,
    };
  if (intact.reason === WAIT) return { kind: 'wait', length: intact.length ?? 0 };
  const next = resync(fd, offset + 1, seg.size);
  return { kind: 'damage', segment: seg, offset, skipped: next - offset, reason: intact.reason };
}

const WAIT = 'no room for the body now';

type Tried =
  | { ok: true; message: StoredMessage; length: number; buffer: Buffer }
  | { ok: false; reason: string; length?: number };

function tryRecord(
  fd: number,
  offset: number,
  end: number,
  bodies = FRESH_BUFFERS,
  cache?: { ahead: ReadAhead; seg: Segment },
): Tried {
  const ahead = (at: number, length: number) => cache?.ahead.view(cache.seg, fd, at, length);
  const header = readHeader(ahead(offset, HEADER_BYTES) ?? preadExact(fd, HEADER_BYTES, offset));
  if (!header) return { ok: false, reason: 'bad record header' };
  const length = HEADER_BYTES + header.bodyLength;
  if (offset + length > end) return { ok: false, reason: 'record cut short (torn write)' };
  const buffer = bodies.take(header.bodyLength);
  if (!buffer) return { ok: false, reason: WAIT, length };
  const bodyAt = offset + HEADER_BYTES;
  const cached = ahead(bodyAt, header.bodyLength);
  const body = cached
    ? buffer.subarray(0, cached.copy(buffer))
    : preadInto(fd, buffer, header.bodyLength, bodyAt).subarray(0, header.bodyLength);
  const intact = bodyIntact(header, body);
  const message = intact ? decodeBody(body) : undefined;
  if (!message) {
    bodies.giveBack(buffer);
    return {
      ok: false,
      reason: intact ? 'checksum matches but the body does not decode' : 'checksum mismatch',
    };
  }
  return { ok: true, message, length, buffer };
}

/** The offset of the first intact record at or after `from`, or `end`. */
function resync(fd: number, from: number, end: number): number {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC);
  for (let pos = from; pos < end;) {
    const chunk = preadExact(fd, Math.min(RESYNC_CHUNK, end - pos), pos);
    let at = chunk.indexOf(magic);
    while (at !== -1) {
      if (tryRecord(fd, pos + at, end).ok) return pos + at;
      at = chunk.indexOf(magic, at + 1);
    }
    // a magic split across two chunks is found by overlapping the next chunk by three bytes
    pos += Math.max(1, chunk.length - 3);
    if (chunk.length < 4) break;
  }
  return end;
}

export type ScanItem =
  | { kind: 'record'; summary: RecordSummary; offset: number; length: number }
  | { kind: 'damage'; offset: number; skipped: number; reason: string };

/**
 * Walks a segment file record by record reading only headers and summaries (no checksum: that costs a full
 * read and is done when a record is delivered). Used at open and by `spool inspect`.
 */
export function* scanSummaries(file: string, size: number, start = 0): Generator<ScanItem> {
  const fd = openRegular(file, fs.constants.O_RDONLY);
  try {
    let offset = start;
    while (offset < size) {
      const head = preadExact(fd, Math.min(HEADER_BYTES + SUMMARY_BYTES, size - offset), offset);
      const header = readHeader(head);
      const length = header ? HEADER_BYTES + header.bodyLength : 0;
      const fits = header !== undefined && offset + length <= size;
      let summary = fits ? summarize(head.subarray(HEADER_BYTES)) : undefined;
      // a topic longer than SUMMARY_BYTES needs the whole body
      if (fits && !summary && head.length < length)
        summary = summarize(preadExact(fd, header.bodyLength, offset + HEADER_BYTES));
      if (!header || !summary || offset + length > size) {
        const next = resync(fd, offset + 1, size);
        yield {
          kind: 'damage',
          offset,
          skipped: next - offset,
          reason: header ? 'record cut short or unreadable' : 'bad record header',
        };
        offset = next;
        continue;
      }
      yield { kind: 'record', summary, offset, length };
      offset += length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export type FileItem =
  | { kind: 'record'; message: StoredMessage; offset: number; length: number }
  | { kind: 'damage'; offset: number; skipped: number; reason: string };

/** Every record of a segment file with its checksum verified (for `spool export`). */
export function* readSegmentFile(file: string): Generator<FileItem> {
  const fd = openRegular(file, fs.constants.O_RDONLY);
  try {
    const size = fs.fstatSync(fd).size;
    for (let offset = 0; offset < size;) {
      const tried = tryRecord(fd, offset, size);
      if (tried.ok) {
        yield { kind: 'record', message: tried.message, offset, length: tried.length };
        offset += tried.length;
        continue;
      }
      const next = resync(fd, offset + 1, size);
      yield { kind: 'damage', offset, skipped: next - offset, reason: tried.reason };
      offset = next;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Segment files of a log directory, oldest first, with their finished lists (read-only; for inspection). */
export function listSegments(
  dir: string,
): { file: string; size: number; finished: Set<number>; unusable?: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => SEGMENT_NAME.test(n))
    .sort()
    .map((n) => {
      const file = path.join(dir, n);
      let size: number;
      try {
        size = regularFileSize(file);
      } catch (err) {
        if (!(err instanceof NotRegularFile)) throw err;
        return { file, size: 0, finished: new Set<number>(), unusable: err.message };
      }
      let finished = new Set<number>();
      try {
        finished = readFinished(file.replace(/\.seg$/, '.ack')).finished;
      } catch {
        // an unreadable finished list: every record counts as pending
      }
      return { file, size, finished };
    });
}
