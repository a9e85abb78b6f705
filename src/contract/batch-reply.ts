// The reply of our POST /batch extension: `{"accepted": n, "status": s}` = the first n items were forwarded,
// item n (if any) got status s. Anything that does not make sense is refused, never read as "all accepted".

export interface BatchReply {
  /** the first `accepted` items were forwarded */
  accepted: number;
  /** the status of item `accepted` (200 when all were) */
  status: number;
}

/** The server's side: the reply body for a batch whose first `accepted` items went through. */
export function formatBatchReply(reply: BatchReply): string {
  return JSON.stringify({ accepted: reply.accepted, status: reply.status });
}

/** `{"accepted": n, "status": s}`; undefined when the body does not make sense for a batch of n items. */
export function parseBatchReply(body: string, n: number): BatchReply | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { accepted, status } = parsed as { accepted?: unknown; status?: unknown };
  if (!Number.isInteger(accepted) || (accepted as number) < 0 || (accepted as number) > n) return undefined;
  if ((accepted as number) === n) return { accepted: n, status: 200 };
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599 || status === 200) {
    return undefined;
  }
  return { accepted: accepted as number, status: status as number };
}
