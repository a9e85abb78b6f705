// Kubernetes-style probes next to the original's /health. Each part of a half may say why the half is
// not ready (cannot do its job now: take it out of rotation, keep it running) or not live (will not
// recover by itself: restart it). An empty list means "yes". docs/metrics.md ("Probes") lists every
// reason and the probe it belongs to.
import type http from 'node:http';

export interface ProbeSource {
  /** reasons the half cannot do its job right now */
  notReady?(): string[];
  /** reasons the half will not recover without a restart */
  notLive?(): string[];
}

export type ProbeKind = 'ready' | 'live';

export function probeReasons(kind: ProbeKind, sources: (ProbeSource | undefined)[]): string[] {
  const reasons: string[] = [];
  for (const s of sources) {
    if (!s) continue;
    reasons.push(...((kind === 'ready' ? s.notReady?.() : s.notLive?.()) ?? []));
  }
  return reasons;
}

/** 200 `{"status":"ready"}` / `{"status":"live"}`, or 503 `{"status":"not_ready","reasons":[…]}`. */
export function writeProbe(res: http.ServerResponse, kind: ProbeKind, reasons: string[]): void {
  const body = JSON.stringify(reasons.length ? { status: `not_${kind}`, reasons } : { status: kind });
  res.writeHead(reasons.length ? 503 : 200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
