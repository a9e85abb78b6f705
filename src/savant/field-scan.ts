// A budget check for protobuf bodies from untrusted peers: one pass over the top-level fields that only
// reads tags and lengths, builds no object and stops at the first field over its budget; it can run on
// a whole body or on its chunks as they arrive (FieldScanner). The decoders in
// ./media.ts and ./message.ts run it before they build one subarray or string per field, so a body made of
// millions of empty fields (`1a 00` repeated) costs a linear scan and a refusal instead of millions of
// objects. Structure errors are left to the decoders (they report them with the field names).
import { MessageDecodeError } from './decode-error.js';

/** A decode limit was exceeded: the body is well-formed enough to count, but carries too many fields. */
export class DecodeLimitError extends MessageDecodeError {
  constructor(
    /** which limit: the configuration key without the `max_` prefix, e.g. `extra_frames` */
    readonly limit: string,
    readonly max: number,
    what: string,
  ) {
    super(`${what} has more than ${max} ${limit.replace(/_/g, ' ')}`, 'decode_limit');
  }
}

/** Field number → how many occurrences are allowed and the limit's name; `other` covers all other fields. */
export interface FieldBudget {
  fields: ReadonlyMap<number, { max: number; limit: string }>;
  other: { max: number; limit: string };
  /**
   * Budgets of what some length-delimited top-level fields enclose (a Media's message), scanned as well
   * instead of skipped: a body that is one field spanning millions of empty inner fields is then refused
   * after its first bytes too, not once it is whole.
   */
  nested?: ReadonlyMap<number, { what: string; budget: FieldBudget }>;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/**
 * The budget scan as a state machine over chunks, so that a body can be checked while it arrives (the
 * server refuses `1a 00` repeated after its first few hundred bytes, not after buffering 64 MiB). Tags
 * and varints are read byte by byte, field values are skipped by arithmetic: time linear in the bytes,
 * memory constant. It stops quietly at anything malformed: the decoder that runs next reports it.
 */
export class FieldScanner {
  private readonly counts = new Map<number, number>();
  private others = 0;
  private depth = 0;
  /** bytes of a field value still to skip */
  private skip = 0;
  private value = 0;
  private scale = 1;
  private varintBytes = 0;
  private expect: 'tag' | 'varint' | 'length' = 'tag';
  private stopped = false;
  /** field number of the last top-level tag */
  private field = 0;
  /** the scan of the field value being skipped, when its field has a nested budget */
  private inner?: FieldScanner;

  constructor(
    private readonly what: string,
    private readonly budget: FieldBudget,
  ) {}

  /** Scans the next bytes; throws DecodeLimitError at the first field over the budget. */
  push(b: Uint8Array): void {
    let pos = 0;
    while (pos < b.length && !this.stopped) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, b.length - pos);
        this.inner?.push(b.subarray(pos, pos + n));
        this.skip -= n;
        pos += n;
        if (this.skip === 0) this.inner = undefined;
        continue;
      }
      const byte = b[pos++];
      // multiplication, not shifts: values above 2^31 must not wrap
      this.value += (byte & 0x7f) * this.scale;
      this.scale *= 128;
      if (byte >= 0x80) {
        if (++this.varintBytes >= 10) this.stopped = true;
        continue;
      }
      const v = this.value;
      this.value = 0;
      this.scale = 1;
      this.varintBytes = 0;
      if (this.expect === 'tag') this.onTag(v);
      else {
        if (this.expect === 'length') this.onLength(v);
        this.expect = 'tag';
      }
    }
  }

  private onLength(length: number): void {
    this.skip = length;
    const nested = this.depth === 0 && length > 0 ? this.budget.nested?.get(this.field) : undefined;
    if (nested) this.inner = new FieldScanner(nested.what, nested.budget);
  }

  private onTag(tag: number): void {
    const fieldNo = Math.floor(tag / 8);
    const wireType = tag % 8;
    this.field = fieldNo;
    if (this.depth === 0 && wireType !== WIRE_END_GROUP) this.count(fieldNo);
    switch (wireType) {
      case WIRE_VARINT:
        this.expect = 'varint';
        break;
      case WIRE_FIXED64:
        this.skip = 8;
        break;
      case WIRE_FIXED32:
        this.skip = 4;
        break;
      case WIRE_LENGTH_DELIMITED:
        this.expect = 'length';
        break;
      case WIRE_START_GROUP:
        this.depth++;
        break;
      case WIRE_END_GROUP:
        if (this.depth === 0) this.stopped = true;
        else this.depth--;
        break;
      default:
        this.stopped = true;
    }
  }

  private count(fieldNo: number): void {
    const rule = this.budget.fields.get(fieldNo);
    if (rule) {
      const n = (this.counts.get(fieldNo) ?? 0) + 1;
      if (n > rule.max) throw new DecodeLimitError(rule.limit, rule.max, this.what);
      this.counts.set(fieldNo, n);
    } else if (++this.others > this.budget.other.max) {
      throw new DecodeLimitError(this.budget.other.limit, this.budget.other.max, this.what);
    }
  }
}

/** Counts the top-level fields of `b` against `budget`; throws DecodeLimitError at the first field over it. */
export function checkFieldBudget(b: Uint8Array, what: string, budget: FieldBudget): void {
  new FieldScanner(what, budget).push(b);
}
