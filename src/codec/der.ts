// A minimal DER reader/writer: just enough to walk X.509 Names and TBS structures for the OpenSSL
// name hash. Full ASN.1 parsing stays with @peculiar/x509; this exists because the hash needs the
// exact original bytes and tags, which higher-level parsers normalise away.
import { DerError } from '../errors/index.js';

export interface Tlv {
  tag: number;
  /** offset of the tag byte in the buffer */
  start: number;
  /** offset of the first content byte */
  contentStart: number;
  /** offset just past the last content byte */
  end: number;
}

/** Reads one TLV at `offset`; throws on truncated or non-DER (indefinite / multi-byte tag) input. */
export function readTlv(buf: Uint8Array, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new DerError('DER: truncated header');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER: multi-byte tags are not supported');
  let len = buf[offset + 1];
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('DER: unsupported length encoding');
    if (p + n > buf.length) throw new DerError('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    p += n;
  }
  if (p + len > buf.length) throw new DerError('DER: content runs past the end');
  return { tag, start: offset, contentStart: p, end: p + len };
}

/** The TLVs directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    const t = readTlv(buf, p);
    out.push(t);
    p = t.end;
  }
  if (p !== parent.end) throw new DerError('DER: child overruns its parent');
  return out;
}

/** Encodes a TLV with a definite DER length. */
export function encodeTlv(tag: number, content: Uint8Array): Buffer {
  const len = content.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(header), content]);
}

export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;
