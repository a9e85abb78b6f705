// One Media item through the gateway: decode, validate, authorize by routing labels, forward to the
// Savant writer, and turn the outcome into an HTTP status (the table in src/contract/http.ts). Used by both POST / (one item)
// and POST /batch (each item in order). The message bytes are forwarded unchanged, never re-encoded.
import type { SavantWriter, WriteResult } from '../savant/index.js';
import { inspectMessage, MessageDecodeError, type MessageInfo } from '../savant/message.js';
import { decodeMedia, type Media } from '../savant/media.js';
import { DecodeLimitError } from '../savant/field-scan.js';
import type { ServerLimits } from '../config/index.js';
import { decodeLimitRefusalsTotal } from '../limits/index.js';
import type { Authenticator, AuthDecision } from '../auth/index.js';
import type { FpsStatistics } from '../stats/index.js';
import { hotSlotsBy, bytesTotal, messagesTotal } from '../metrics/index.js';
import { logger } from '../util/index.js';
import { STATUS } from '../contract/index.js';

const log = logger('media_gateway::server');

export type Grant = Extract<AuthDecision, { ok: true }>;

export interface ForwardContext {
  writer: SavantWriter;
  authenticator?: Authenticator;
  stats?: FpsStatistics;
  limits: ServerLimits;
}

type Outcome = 'forwarded' | 'send_timeout' | 'ack_timeout' | 'send_error' | 'invalid' | 'unauthorized';

/** Why an item got its status, for observers (tracing): a stable code and a human description. */
export interface ForwardResult {
  status: number;
  /** forwarded, duplicate, invalid_topic, no_message, no_content, malformed, decode_limit, forbidden, send_timeout, ack_timeout, send_error */
  code: string;
  description: string;
}

/**
 * An observer of one item (src/telemetry/server.ts), passed only while tracing is on. `accepted` sees the
 * validated message and may return other bytes to forward (a rewritten propagated_context) together with
 * the callback for the result; `refused` sees an item turned away before it validated.
 */
export interface ItemTrace {
  accepted(
    topic: Uint8Array,
    message: Uint8Array,
    info: MessageInfo,
    grants: Grant[],
  ): { message: Uint8Array; finished(result: ForwardResult): void } | undefined;
  refused(result: ForwardResult): void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const countedMessages = hotSlotsBy(messagesTotal, { side: 'server' }, 'outcome');
const countedBytes = hotSlotsBy(bytesTotal, { side: 'server' }, 'outcome');

function count(outcome: Outcome, bytes: number): void {
  countedMessages(outcome).add();
  if (bytes > 0) countedBytes(outcome).add(bytes);
}

function invalid(reason: string, bytes = 0): number {
  log.debug({ reason }, 'rejected a malformed message');
  count('invalid', bytes);
  return STATUS.malformed;
}

/** A decode error's answer: 413 for a body over a decode limit (counted by limit), 400 when malformed. */
export function refusalOf(err: MessageDecodeError, what: string, bytes = 0): number {
  if (err instanceof DecodeLimitError) {
    log.debug({ reason: err.message }, 'refused a body over a decode limit');
    decodeLimitRefusalsTotal.inc({ limit: err.limit });
    count('invalid', bytes);
    return STATUS.tooLarge;
  }
  return invalid(`malformed ${what}: ${err.message}`, bytes);
}

/** Validates one encoded Media and returns what to forward, or the 400 it earns. */
function validate(
  encodedMedia: Uint8Array,
  limits: ServerLimits,
):
  | { ok: true; media: Media & { message: Uint8Array }; info: MessageInfo; bytes: number }
  | ({ ok: false } & ForwardResult) {
  let media: Media;
  try {
    media = decodeMedia(encodedMedia, limits);
  } catch (err) {
    if (err instanceof MessageDecodeError) return decodeRefusal(err, 'Media', 0);
    throw err;
  }
  const bytes = (media.message?.length ?? 0) + media.data.reduce((n, d) => n + d.length, 0);
  try {
    utf8.decode(media.topic);
  } catch {
    return refused('invalid_topic', invalid('topic is not valid UTF-8', bytes), 'topic is not valid UTF-8');
  }
  const message = media.message;
  if (!message)
    return refused('no_message', invalid('Media without message', bytes), 'Media without message');
  let info: MessageInfo;
  try {
    info = inspectMessage(message, limits);
  } catch (err) {
    if (err instanceof MessageDecodeError) return decodeRefusal(err, 'message', bytes);
    throw err;
  }
  // The original panics here (connection dropped); an answer the client can act on is better.
  if (info.content === null)
    return refused('no_content', invalid('message without content', bytes), 'message without content');
  return { ok: true, media: { ...media, message }, info, bytes };
}

function refused(code: string, status: number, description: string): { ok: false } & ForwardResult {
  return { ok: false, status, code, description };
}

function decodeRefusal(err: MessageDecodeError, what: string, bytes: number): { ok: false } & ForwardResult {
  const status = refusalOf(err, what, bytes);
  return refused(
    status === STATUS.tooLarge ? 'decode_limit' : 'malformed',
    status,
    `malformed ${what}: ${err.message}`,
  );
}

function statusOf(result: WriteResult): { status: number; outcome: Outcome; description: string } {
  switch (result.kind) {
    case 'success':
    case 'ack':
      return { status: STATUS.delivered, outcome: 'forwarded', description: 'forwarded' };
    case 'send_timeout':
      return { status: STATUS.sendTimeout, outcome: 'send_timeout', description: 'ZeroMQ send timed out' };
    case 'ack_timeout':
      return {
        status: STATUS.ackTimeout,
        outcome: 'ack_timeout',
        description: 'ZeroMQ acknowledgement timed out',
      };
    case 'error':
      log.error({ err: result.error.message }, 'Failed to send a message');
      return {
        status: STATUS.sendError,
        outcome: 'send_error',
        description: `ZeroMQ send failed: ${result.error.message}`,
      };
  }
}

/** Processes one encoded Media item; resolves to the HTTP status it gets (200 = forwarded). */
export async function forwardMedia(
  ctx: ForwardContext,
  encodedMedia: Uint8Array,
  grants: Grant[],
  trace?: ItemTrace,
): Promise<number> {
  const v = validate(encodedMedia, ctx.limits);
  if (!v.ok) {
    trace?.refused(v);
    return v.status;
  }
  const { media, info, bytes } = v;
  const traced = trace?.accepted(media.topic, media.message, info, grants);
  ctx.stats?.start();
  for (const grant of grants) {
    if (!ctx.authenticator!.authorize(grant, info.routingLabels)) {
      log.warn({ user: grant.user, labels: info.routingLabels }, 'routing labels not allowed for this user');
      count('unauthorized', bytes);
      traced?.finished({
        status: STATUS.refused,
        code: 'forbidden',
        description: 'routing labels not allowed for this user',
      });
      return STATUS.refused;
    }
  }
  let result: WriteResult;
  try {
    const message = traced ? traced.message : media.message;
    result = await ctx.writer.send(media.topic, message, media.data, info.content === 'end_of_stream');
  } catch (err) {
    result = { kind: 'error', error: err as Error };
  }
  ctx.stats?.end();
  const { status, outcome, description } = statusOf(result);
  count(outcome, bytes);
  traced?.finished({ status, code: outcome, description });
  return status;
}
