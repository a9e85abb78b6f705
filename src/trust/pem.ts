// PEM splitting and formatting. A hash-directory file may hold several PEM blocks, and Node's `crl`
// option reads only the first block of each element, so every object is handled one block at a time.

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const BASE64 = /^[A-Za-z0-9+/=\s]*$/;

/**
 * Every well-formed PEM block of `text`, in order. Blocks with headers (e.g. legacy encrypted keys'
 * `Proc-Type:`) keep their label but their headers are skipped; blocks whose body is not base64
 * are left out, so a truncated or corrupted file yields fewer blocks, never garbage DER.
 */
export function splitPem(text: string | Buffer): PemBlock[] {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  const out: PemBlock[] = [];
  for (const m of s.matchAll(BLOCK)) {
    let body = m[2];
    // RFC 1421 headers end with a blank line
    if (/^[A-Za-z-]+:/.test(body)) {
      const blank = body.search(/\r?\n\r?\n/);
      body = blank >= 0 ? body.slice(blank).trim() : '';
    }
    if (!BASE64.test(body)) continue;
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) continue;
    out.push({ label: m[1], der });
  }
  return out;
}

/** One PEM block with 64-column base64 lines and a trailing newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
