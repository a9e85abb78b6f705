// Entry point of the `relay` bench mode's two child processes: the benchmark's source → … → sink path with
// no gateway code in between, to show what a relay of the gateway's shape costs on this machine and Node.
// - relay-in (in place of the client): a ZeroMQ router bound at the source URL with the client's receive
//   high-water mark; every multipart Savant message received is written as one record of a minimal
//   length-prefixed framing on a TLS connection with our client certificate. One connection per lane,
//   4 lanes, topics spread over them by the client's own topic → lane hash (src/client/lanes.ts), so per-topic
//   order holds and the wire carries what the gateway's stream carries: one connection per lane. Small
//   records are written as they come (Node joins what queues up into one TLS write); large frames one at a
//   time, each once the previous write's callback ran.
// - relay-out (in place of the server): a TLS server requiring client certificates; decodes the records and
//   sends each message's frames on a ZeroMQ dealer connected to the sink URL with the server's high-water mark.
// No batching, no acks, no HTTP, no metrics. Back-pressure is honoured on both hops: relay-in stops receiving
// while `hwm` messages are not yet written to its sockets (a large frame's write waits for the previous
// write's callback, as the gateway client writes large bodies: src/client/stream.ts); relay-out pauses its
// connections while `hwm` messages wait for ZeroMQ (each send awaited).
// Each child logs "listening on ..." once ready (the harness waits for it: src/bench/process.ts) and exits 0 on
// SIGTERM, so `node --cpu-prof` writes its profile.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import * as zmq from 'zeromq';
import { laneOf } from '../client/lanes.js';

export interface RelayInArgs {
  /** ZeroMQ endpoint the router binds (ipc://…), the source's URL */
  source: string;
  /** relay-out's TLS port on 127.0.0.1 */
  port: number;
  hwm: number;
  lanes: number;
  cert: string;
  key: string;
  ca: string;
}

export interface RelayOutArgs {
  /** ZeroMQ endpoint the dealer connects to, the sink's URL */
  sink: string;
  /** TLS port on 127.0.0.1 */
  port: number;
  hwm: number;
  cert: string;
  key: string;
  ca: string;
}

/** LINGER of both ZeroMQ sockets, as every Savant socket of the gateway (src/savant/socket.ts). */
const LINGER_MS = 100;

/**
 * Frames below this size go into the record's head buffer (one copy); larger ones are written as they are.
 * Each extra write is a TLS record and a syscall; a copy of a small frame costs less than that.
 */
const JOIN_BELOW_BYTES = 16 * 1024;

/**
 * A record: u32 LE count of frames, then u32 LE length of each frame, then the frames (topic, Savant
 * message, extra frames). The largest record relay-out accepts (the bench's frames are at most a few MiB).
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const MAX_FRAMES = 1024;

/** The record head (count, lengths) followed by the leading frames that are small enough to join. */
export function encodeRecord(frames: Buffer[]): Buffer[] {
  const head = Buffer.allocUnsafe(4 + 4 * frames.length);
  head.writeUInt32LE(frames.length, 0);
  frames.forEach((f, i) => head.writeUInt32LE(f.length, 4 + 4 * i));
  const out: Buffer[] = [];
  let joined: Buffer[] = [head];
  let joinedBytes = head.length;
  for (const f of frames) {
    if (f.length < JOIN_BELOW_BYTES) {
      joined.push(f);
      joinedBytes += f.length;
      continue;
    }
    out.push(Buffer.concat(joined, joinedBytes), f);
    joined = [];
    joinedBytes = 0;
  }
  if (joinedBytes > 0) out.push(Buffer.concat(joined, joinedBytes));
  return out;
}

/**
 * Incremental decoder of records from a byte stream. A frame that lies inside one received chunk is a view of
 * it; a larger one gets a buffer of exactly its length, and each chunk is copied into it as it arrives (one
 * copy, while the decrypted bytes are still in the cache, and no chunk is held until the frame is complete:
 * held chunks are external memory and start full collections, see docs/benchmark.md).
 */
export class RecordDecoder {
  /** bytes of the record head received so far (count, then the lengths) */
  private head = Buffer.alloc(0);
  private lengths: number[] | undefined;
  private frames: Buffer[] = [];
  /** the frame being filled, and how many of its bytes arrived */
  private partial: Buffer | undefined;
  private filled = 0;

  constructor(private readonly onRecord: (frames: Buffer[]) => void) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.lengths) {
        at = this.readHead(chunk, at);
        continue;
      }
      const want = this.lengths[this.frames.length];
      if (!this.partial) {
        if (chunk.length - at >= want) {
          this.frames.push(chunk.subarray(at, at + want));
          at += want;
          this.recordDone();
          continue;
        }
        this.partial = Buffer.allocUnsafe(want);
        this.filled = 0;
      }
      const n = Math.min(want - this.filled, chunk.length - at);
      chunk.copy(this.partial, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === want) {
        this.frames.push(this.partial);
        this.partial = undefined;
        this.recordDone();
      }
    }
  }

  /** Takes head bytes from chunk[at..]; returns the new position. */
  private readHead(chunk: Buffer, at: number): number {
    const need = this.head.length < 4 ? 4 : 4 + 4 * this.head.readUInt32LE(0);
    const n = Math.min(need - this.head.length, chunk.length - at);
    this.head = Buffer.concat([this.head, chunk.subarray(at, at + n)]);
    if (this.head.length === 4) {
      const count = this.head.readUInt32LE(0);
      if (count === 0 || count > MAX_FRAMES) throw new Error(`record of ${count} frames`);
    } else if (this.head.length === need) {
      const count = this.head.readUInt32LE(0);
      const lengths = Array.from({ length: count }, (_, i) => this.head.readUInt32LE(4 + 4 * i));
      const total = lengths.reduce((x, y) => x + y, 0);
      if (total > MAX_RECORD_BYTES) throw new Error(`record of ${total} bytes`);
      this.head = Buffer.alloc(0);
      this.lengths = lengths;
      this.recordDone(); // a record of empty frames only is complete already
    }
    return at + n;
  }

  /** Skips empty frames and hands the record over once every frame is there. */
  private recordDone(): void {
    const lengths = this.lengths!;
    while (this.frames.length < lengths.length && lengths[this.frames.length] === 0) {
      this.frames.push(Buffer.alloc(0));
    }
    if (this.frames.length < lengths.length) return;
    const frames = this.frames;
    this.frames = [];
    this.lengths = undefined;
    this.onRecord(frames);
  }
}

/**
 * Messages a relay holds at once, over all its connections (the gateway client's reader → sender queue,
 * `inflight_ops`, is one bound of the same size): `take` waits while the budget is spent.
 */
class Budget {
  private held = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.held >= this.limit;
  }

  async take(): Promise<void> {
    while (this.full) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.held++;
  }

  /** Takes one without waiting (the caller stops its input while `full`). */
  takeNow(): void {
    this.held++;
  }

  release(): void {
    this.held--;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * One TLS connection of relay-in. A large buffer (a frame of JOIN_BELOW_BYTES or more) is written alone, once
 * every earlier write's callback ran: queued behind other writes, Node's TLS socket would join it with them
 * into one fresh allocation before encrypting (src/client/stream.ts). Small records are written as long as
 * the socket is below its high-water mark: those Node joins into one TLS write, as it would for any writer
 * (at 1 KiB this cost relay-in 26 against 31-35 µs and relay-out 19-22 against 28-30 µs per message, 3
 * alternating pairs, than writing each record once the previous one's callback ran).
 */
class Lane {
  private queue: { buffer: Buffer; last: boolean }[] = [];
  /** writes handed to the socket whose callback has not run yet */
  private inFlight = 0;

  constructor(
    private readonly socket: tls.TLSSocket,
    private readonly budget: Budget,
    onFailure: (err: Error) => void,
  ) {
    socket.on('error', onFailure);
    socket.on('close', () => onFailure(new Error('relay-out closed the connection')));
  }

  /** Queues one message's buffers; its budget is released once the last of them is written. */
  enqueue(buffers: Buffer[]): void {
    buffers.forEach((buffer, i) => this.queue.push({ buffer, last: i === buffers.length - 1 }));
    this.pump();
  }

  private pump(): void {
    for (;;) {
      const item = this.queue[0];
      if (!item) return;
      const large = item.buffer.length >= JOIN_BELOW_BYTES;
      if (large ? this.inFlight > 0 : this.socket.writableNeedDrain) return;
      this.queue.shift();
      this.inFlight++;
      this.socket.write(item.buffer, (err) => {
        if (err) return; // the socket's 'error' ends the process
        this.inFlight--;
        if (item.last) this.budget.release();
        this.pump();
      });
      if (large) return;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function connectLane(a: RelayInArgs): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port: a.port,
        cert: readFileSync(a.cert),
        key: readFileSync(a.key),
        ca: readFileSync(a.ca),
      },
      () => {
        socket.off('error', reject);
        resolve(socket);
      },
    );
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

async function relayIn(a: RelayInArgs): Promise<void> {
  const budget = new Budget(a.hwm);
  const lost = (err: Error): never => fatal('relay-in', err);
  const lanes = await Promise.all(
    Array.from({ length: a.lanes }, async () => new Lane(await connectLane(a), budget, lost)),
  );
  const router = new zmq.Router({ receiveHighWaterMark: a.hwm, linger: LINGER_MS });
  await router.bind(a.source);
  onTerm(() => {
    router.close();
    for (const l of lanes) l.close();
  });
  log(`relay-in listening on ${a.source}, ${a.lanes} TLS connections to 127.0.0.1:${a.port}`);
  for (;;) {
    let parts: Buffer[];
    try {
      parts = await router.receive();
    } catch (err) {
      if (router.closed) return;
      throw err;
    }
    // [routing id, topic, message, extra...]; the routing id stays here, as in the gateway client
    if (parts.length < 3) continue;
    const frames = parts.slice(1);
    await budget.take();
    lanes[laneOf(frames[0], lanes.length)].enqueue(encodeRecord(frames));
  }
}

async function relayOut(a: RelayOutArgs): Promise<void> {
  const dealer = new zmq.Dealer({ sendHighWaterMark: a.hwm, receiveHighWaterMark: a.hwm, linger: LINGER_MS });
  dealer.connect(a.sink);
  // zeromq.js allows one send in progress per socket: every connection's records go through one chain, in
  // the order they were decoded (so per-topic order holds: a topic travels on one connection)
  let sending: Promise<unknown> = Promise.resolve();
  const budget = new Budget(a.hwm);
  const paused = new Set<tls.TLSSocket>();
  const sent = (): void => {
    budget.release();
    if (budget.full) return;
    for (const s of paused) s.resume();
    paused.clear();
  };
  const server = tls.createServer(
    {
      cert: readFileSync(a.cert),
      key: readFileSync(a.key),
      ca: readFileSync(a.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      socket.setNoDelay(true);
      const decoder = new RecordDecoder((frames) => {
        budget.takeNow();
        if (budget.full && !paused.has(socket)) {
          socket.pause();
          paused.add(socket);
        }
        sending = sending.then(() => dealer.send(frames)).then(sent);
        sending.catch((err: unknown) => fatal('relay-out', err));
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk);
        } catch (err) {
          fatal('relay-out', err);
        }
      });
      socket.on('error', () => socket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined); // a peer without a certificate is refused, nothing else
  onTerm(() => {
    server.close();
    dealer.close();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(a.port, '127.0.0.1', () => resolve());
  });
  log(`relay-out listening on 127.0.0.1:${a.port}, sending to ${a.sink}`);
}

function log(line: string): void {
  process.stdout.write(line + '\n');
}

function fatal(role: string, err: unknown): never {
  process.stderr.write(`relay-child ${role}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

/** SIGTERM: close the sockets and exit 0 (a clean exit, so --cpu-prof writes its profile). */
function onTerm(close: () => void): void {
  process.once('SIGTERM', () => {
    close();
    process.exit(0);
  });
}

const roles: Record<string, (a: never) => Promise<void>> = {
  'relay-in': relayIn,
  'relay-out': relayOut,
};

function main(): void {
  const [role, json] = process.argv.slice(2);
  const fn = roles[role];
  if (!fn) {
    process.stderr.write(`relay-child: unknown role '${role}' (expected ${Object.keys(roles).join(', ')})\n`);
    process.exit(2);
  }
  fn(JSON.parse(json ?? '{}') as never).catch((err: unknown) => fatal(role, err));
}

// the framing above is also imported by the tests: run a role only when started as a program
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
