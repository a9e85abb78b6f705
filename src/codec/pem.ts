// PEM splitting and formatting. A hash-directory file may hold several PEM blocks, and Node's `crl`
// option reads only the first block of each element, so every object is handled one block at a time.

export interface PemBlock {
  label: string;
  der: Buffer;
}

// Only the markers are matched by a regular expression; bodies are cut out by position. A regular expression
// spanning BEGIN…END retries from every BEGIN to the end of the text when no END follows, which made a file of
// 2 MB of BEGIN lines cost 20 s; this walk is linear in the size of the text.
const MARKER = /-----(BEGIN|END) ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/=\s]*$/;

/**
 * Every well-formed PEM block of `text`, in order. Blocks with headers (e.g. legacy encrypted keys'
 * `Proc-Type:`) keep their label but their headers are skipped; blocks whose body is not base64, and
 * blocks a new BEGIN interrupts before their END, are left out, so a truncated or corrupted file yields
 * fewer blocks, never garbage DER.
 */
export function splitPem(text: string | Buffer): PemBlock[] {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  const out: PemBlock[] = [];
  let open: { label: string; bodyStart: number } | undefined;
  for (const m of s.matchAll(MARKER)) {
    const at = m.index;
    if (m[1] === 'BEGIN') {
      open = { label: m[2], bodyStart: at + m[0].length };
      continue;
    }
    if (!open || open.label !== m[2]) continue;
    const block = decodeBody(open.label, s.slice(open.bodyStart, at));
    if (block) out.push(block);
    open = undefined;
  }
  return out;
}

function decodeBody(label: string, raw: string): PemBlock | undefined {
  // the BEGIN line ends with a line break before the body
  if (!/^\r?\n/.test(raw)) return undefined;
  let body = raw;
  // RFC 1421 headers end with a blank line
  if (/^\r?\n[A-Za-z-]+:/.test(body)) {
    const blank = body.search(/\r?\n\r?\n/);
    body = blank >= 0 ? body.slice(blank).trim() : '';
  }
  if (!BASE64.test(body)) return undefined;
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  return der.length === 0 ? undefined : { label, der };
}

/** One PEM block with 64-column base64 lines and a trailing newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
