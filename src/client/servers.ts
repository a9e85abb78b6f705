// Several gateway servers without a balancer in front (`urls`): one connection pool per server, and each
// lane (./lanes.ts) posts to one server at a time. When a request fails on the server itself (no answer:
// refused, reset, TLS failure, timeout; or a 5xx, which says the server or its ZeroMQ sink is in trouble), that
// server is set aside for a while and the lane moves to the next server not set aside (in the configured
// order, wrapping around; when all are, simply the next one). The request itself is not retried here: the
// lane retries it with its usual backoff (./sender.ts), now towards the new server, and only once it has
// succeeded does the lane go on with later messages, so per-topic order is kept across the move. A lane
// stays on its server until that one fails (no flapping back to the first).
// A request that failed without an answer may still have been forwarded by the failed server, so the move
// can duplicate a message at the sink, never lose or reorder it (docs/fleet.md).
import type { ClientConfig } from '../config/index.js';
import type { ChunkedBody } from '../savant/index.js';
import { logger } from '../util/index.js';
import { redactUrl } from '../util/redact-url.js';
import type { PostingHttp, PostOutcome, PostTarget } from './http.js';

const log = logger('media_gateway::client');

/** A failure of the server itself, as opposed to an answer about the request (4xx). */
export function isServerFailure(out: PostOutcome): boolean {
  return out.kind === 'transport_error' || out.status >= 500;
}

/** A failed server is passed over this long by lanes looking for another one. */
export const SERVER_ASIDE_MS = 5000;

/** One pool for a single `url`; a ServerSet over one pool per server for `urls`. */
export async function openServers(
  cfg: ClientConfig,
  open: (url: string) => Promise<PostingHttp>,
): Promise<PostingHttp> {
  const urls = cfg.urls ?? [cfg.url];
  if (urls.length === 1) return open(urls[0]);
  const servers: { url: string; http: PostingHttp }[] = [];
  try {
    for (const url of urls) servers.push({ url, http: await open(url) });
  } catch (err) {
    await Promise.all(servers.map((s) => s.http.close()));
    throw err;
  }
  return new ServerSet(servers, SERVER_ASIDE_MS);
}

export class ServerSet implements PostingHttp {
  private readonly laneServer = new Map<number, number>();
  private readonly asideUntil: number[];

  constructor(
    private readonly servers: { url: string; http: PostingHttp }[],
    /** how long a failed server is passed over by lanes looking for another */
    private readonly asideMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (servers.length === 0) throw new Error('no server');
    this.asideUntil = servers.map(() => 0);
  }

  /** The server each lane posts to now (index into the configured list), for tests and /health. */
  serverOf(lane: number): number {
    return this.laneServer.get(lane) ?? 0;
  }

  async post(
    target: PostTarget,
    body: ChunkedBody,
    signal?: AbortSignal,
    headers?: Record<string, string>,
    lane = 0,
  ): Promise<PostOutcome> {
    const at = this.serverOf(lane);
    const out = await this.servers[at].http.post(target, body, signal, headers, lane);
    if (isServerFailure(out) && !signal?.aborted) this.moveAway(lane, at, out);
    return out;
  }

  private moveAway(lane: number, from: number, out: PostOutcome): void {
    this.asideUntil[from] = this.now() + this.asideMs;
    const to = this.nextServer(from);
    if (to === from) return;
    this.laneServer.set(lane, to);
    log.warn(
      {
        lane,
        from: redactUrl(this.servers[from].url),
        to: redactUrl(this.servers[to].url),
        reason: out.kind === 'transport_error' ? out.error.message : `HTTP ${out.status}`,
      },
      'server failed; lane moves to the next server',
    );
  }

  private nextServer(from: number): number {
    const n = this.servers.length;
    const now = this.now();
    for (let step = 1; step < n; step++) {
      const i = (from + step) % n;
      if (this.asideUntil[i] <= now) return i;
    }
    return (from + 1) % n;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.http.close()));
  }
}
