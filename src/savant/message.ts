// Read-only inspection of serialized savant `protocol.Message` bytes: the gateway
// forwards the original bytes unchanged and only needs the protocol version, the routing labels, seq_id,
// which content variant is set and the EOS source id. buildMessage() makes valid messages for tests,
// the demo and the benchmark.
import { randomUUID } from 'node:crypto';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { MessageDecodeError } from './decode-error.js';
import { checkFieldBudget, type FieldBudget } from './field-scan.js';

export type ContentKind =
  | 'video_frame'
  | 'video_frame_batch'
  | 'video_frame_update'
  | 'user_data'
  | 'end_of_stream'
  | 'unknown'
  | 'shutdown';

export interface MessageInfo {
  protocolVersion: string;
  routingLabels: string[];
  seqId: bigint;
  /** the `content` oneof; null when none is set (savant_core would panic on such a message) */
  content: ContentKind | null;
  /** `end_of_stream.source_id` when content is end_of_stream */
  eosSourceId?: string;
}

export { MessageDecodeError };

/** Default protocol_version stamped by savant_core 0.3.5 (savant-protobuf 0.2.0). */
export const DEFAULT_PROTOCOL_VERSION = '0.2.0';

/** Message field numbers of the content oneof, in tag order 5..11. */
const CONTENT_TAGS: readonly ContentKind[] = [
  'video_frame',
  'video_frame_batch',
  'video_frame_update',
  'user_data',
  'end_of_stream',
  'unknown',
  'shutdown',
];
const FIRST_CONTENT_TAG = 5;

/** Runs a protobuf parse step and turns the library's errors into MessageDecodeError. */
export function decodeStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MessageDecodeError) throw err;
    throw new MessageDecodeError(`malformed ${what}: ${(err as Error).message}`);
  }
}

/** Throws unless a known field arrives with the wire type the schema gives it (prost rejects it too). */
export function expectWireType(what: string, fieldNo: number, actual: WireType, expected: WireType): void {
  if (actual !== expected) {
    throw new MessageDecodeError(
      `malformed ${what}: field ${fieldNo} has wire type ${actual}, expected ${expected}`,
    );
  }
}

function readEosSourceId(bytes: Uint8Array): string {
  const r = new BinaryReader(bytes);
  let sourceId = '';
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expectWireType('EndOfStream', no, wt, WireType.LengthDelimited);
      sourceId = r.string(true);
    } else {
      r.skip(wt, no);
    }
  }
  return sourceId;
}

/** Bounds on what one Message may carry (untrusted input); absent → no bound beyond the bytes. */
export interface MessageLimits {
  maxRoutingLabels: number;
  /** fields other than routing labels (each known one normally appears once) */
  maxOtherFields: number;
}

export function messageBudget(limits: MessageLimits): FieldBudget {
  return {
    fields: new Map([[2, { max: limits.maxRoutingLabels, limit: 'routing_labels' }]]),
    other: { max: limits.maxOtherFields, limit: 'other_fields' },
  };
}

/** Inspects serialized Message bytes without copying or re-encoding them. */
export function inspectMessage(bytes: Uint8Array, limits?: MessageLimits): MessageInfo {
  if (limits) checkFieldBudget(bytes, 'Message', messageBudget(limits));
  return decodeStep('Message', () => {
    const r = new BinaryReader(bytes);
    const info: MessageInfo = { protocolVersion: '', routingLabels: [], seqId: 0n, content: null };
    // parts of a repeated end_of_stream, joined once at the end (joining on each repeat was quadratic)
    let eosParts: Uint8Array[] = [];
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no === 1 || no === 2) {
        expectWireType('Message', no, wt, WireType.LengthDelimited);
        const s = r.string(true);
        if (no === 1) info.protocolVersion = s;
        else info.routingLabels.push(s);
      } else if (no === 4) {
        expectWireType('Message', no, wt, WireType.Varint);
        info.seqId = BigInt(r.uint64());
      } else if (no >= FIRST_CONTENT_TAG && no < FIRST_CONTENT_TAG + CONTENT_TAGS.length) {
        expectWireType('Message', no, wt, WireType.LengthDelimited);
        const body = r.bytes();
        const kind = CONTENT_TAGS[no - FIRST_CONTENT_TAG];
        // a repeated occurrence of the same sub-message merges into it; another variant replaces it
        if (kind === 'end_of_stream') {
          if (info.content !== 'end_of_stream') eosParts = [];
          eosParts.push(body);
        }
        info.content = kind;
      } else {
        if (no === 3) expectWireType('Message', no, wt, WireType.LengthDelimited);
        r.skip(wt, no);
      }
    }
    if (info.content === 'end_of_stream') info.eosSourceId = readEosSourceId(concat(eosParts));
    return info;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export interface BuildMessageOptions {
  content: ContentKind;
  sourceId?: string;
  routingLabels?: string[];
  protocolVersion?: string;
  seqId?: bigint;
  /** video_frame only: inline frame bytes (VideoFrame.internal); absent → content `none` */
  payload?: Uint8Array;
}

/** Builds valid serialized Message bytes in prost's canonical field order. */
export function buildMessage(opts: BuildMessageOptions): Uint8Array {
  const w = new BinaryWriter();
  const version = opts.protocolVersion ?? DEFAULT_PROTOCOL_VERSION;
  if (version !== '') w.tag(1, WireType.LengthDelimited).string(version);
  for (const label of opts.routingLabels ?? []) w.tag(2, WireType.LengthDelimited).string(label);
  if (opts.seqId !== undefined && opts.seqId !== 0n) w.tag(4, WireType.Varint).uint64(opts.seqId);

  const tag = FIRST_CONTENT_TAG + CONTENT_TAGS.indexOf(opts.content);
  w.tag(tag, WireType.LengthDelimited).fork();
  const sourceId = opts.sourceId ?? '';
  switch (opts.content) {
    case 'video_frame':
      if (sourceId) w.tag(2, WireType.LengthDelimited).string(sourceId);
      w.tag(3, WireType.LengthDelimited).string(randomUUID());
      w.tag(6, WireType.LengthDelimited).string('30/1');
      w.tag(7, WireType.Varint).int64(1280);
      w.tag(8, WireType.Varint).int64(720);
      if (opts.payload) w.tag(17, WireType.LengthDelimited).bytes(opts.payload);
      else w.tag(19, WireType.LengthDelimited).bytes(new Uint8Array());
      break;
    case 'user_data':
    case 'end_of_stream':
      if (sourceId) w.tag(1, WireType.LengthDelimited).string(sourceId);
      break;
    default:
      // batch/update/unknown/shutdown: the empty sub-message is valid for all of them
      break;
  }
  w.join();
  return w.finish();
}
