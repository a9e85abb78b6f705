// A budget check for protobuf bodies from untrusted peers: one pass over the top-level fields that only
// reads tags and lengths, builds no object and stops at the first field over its budget. The decoders in
// ./media.ts and ./message.ts run it before they build one subarray or string per field, so a body made of
// millions of empty fields (`1a 00` repeated) costs a linear scan and a refusal instead of millions of
// objects. Structure errors are left to the decoders (they report them with the field names).
import { MessageDecodeError } from './decode-error.js';

/** A decode limit was exceeded: the body is well-formed enough to count, but carries too many fields. */
export class DecodeLimitError extends MessageDecodeError {
  override name = 'DecodeLimitError';
  readonly code = 'DECODE_LIMIT';

  constructor(
    /** which limit: the configuration key without the `max_` prefix, e.g. `extra_frames` */
    readonly limit: string,
    readonly max: number,
    what: string,
  ) {
    super(`${what} has more than ${max} ${limit.replace(/_/g, ' ')}`);
  }
}

/** Field number → how many occurrences are allowed and the limit's name; `other` covers all other fields. */
export interface FieldBudget {
  fields: ReadonlyMap<number, { max: number; limit: string }>;
  other: { max: number; limit: string };
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** Reads a varint at `pos`; returns [value, next position], or undefined when it runs past the end. */
function varint(b: Uint8Array, pos: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) return undefined;
    const byte = b[pos++];
    // multiplication, not shifts: lengths above 2^31 must not wrap (they are refused as overruns)
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
  return undefined;
}

/**
 * Counts the top-level fields of `b` against `budget`; throws DecodeLimitError at the first field over
 * it. Stops quietly at anything malformed: the decoder that runs next reports it.
 */
export function checkFieldBudget(b: Uint8Array, what: string, budget: FieldBudget): void {
  const counts = new Map<number, number>();
  let others = 0;
  let depth = 0;
  let pos = 0;
  while (pos < b.length) {
    const tag = varint(b, pos);
    if (!tag) return;
    pos = tag[1];
    const fieldNo = Math.floor(tag[0] / 8);
    const wireType = tag[0] & 7;
    if (depth === 0 && wireType !== WIRE_END_GROUP) {
      const rule = budget.fields.get(fieldNo);
      if (rule) {
        const n = (counts.get(fieldNo) ?? 0) + 1;
        if (n > rule.max) throw new DecodeLimitError(rule.limit, rule.max, what);
        counts.set(fieldNo, n);
      } else if (++others > budget.other.max) {
        throw new DecodeLimitError(budget.other.limit, budget.other.max, what);
      }
    }
    switch (wireType) {
      case WIRE_VARINT: {
        const v = varint(b, pos);
        if (!v) return;
        pos = v[1];
        break;
      }
      case WIRE_FIXED64:
        pos += 8;
        break;
      case WIRE_FIXED32:
        pos += 4;
        break;
      case WIRE_LENGTH_DELIMITED: {
        const len = varint(b, pos);
        if (!len) return;
        pos = len[1] + len[0];
        break;
      }
      case WIRE_START_GROUP:
        depth++;
        break;
      case WIRE_END_GROUP:
        if (depth === 0) return;
        depth--;
        break;
      default:
        return;
    }
  }
}
