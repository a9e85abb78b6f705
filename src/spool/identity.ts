// The identity of spooled messages on the wire: one HTTP header, ignored by the original server (it reads
// only Content-Type and Authorization), naming the client's spool instance and the sequence number of each
// Media in the body, in body order: `x-media-gateway-message-ids: <32 hex>:<seq>[-<seq>],...`. A POST / has
// one number, a POST /batch one per item; consecutive numbers are written as ranges, so a batch of a lane's
// messages stays a short header. Our server uses it to drop exact duplicates (src/server/duplicates.ts).
export const MESSAGE_IDS_HEADER = 'x-media-gateway-message-ids';

export interface MessageIds {
  instance: string;
  seqs: number[];
}

const INSTANCE = /^[0-9a-f]{32}$/;
const RANGE = /^(\d{1,15})(?:-(\d{1,15}))?$/;

export function formatMessageIds(instance: string, seqs: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seqs.length;) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j] + 1) j++;
    parts.push(j > i ? `${seqs[i]}-${seqs[j]}` : String(seqs[i]));
    i = j + 1;
  }
  return `${instance}:${parts.join(',')}`;
}

/**
 * Parses the header; undefined when absent or malformed, or when it names more than `maxItems` messages
 * (a peer cannot make the server expand a short header into a huge list).
 */
export function parseMessageIds(
  header: string | string[] | undefined,
  maxItems: number,
): MessageIds | undefined {
  if (typeof header !== 'string') return undefined;
  const colon = header.indexOf(':');
  const instance = header.slice(0, colon);
  if (colon < 0 || !INSTANCE.test(instance)) return undefined;
  const seqs: number[] = [];
  for (const part of header.slice(colon + 1).split(',')) {
    const m = RANGE.exec(part);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || seqs.length + (to - from + 1) > maxItems) return undefined;
    for (let s = from; s <= to; s++) seqs.push(s);
  }
  return { instance, seqs };
}
