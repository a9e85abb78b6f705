// The pieces under the tracing: propagated_context read and rewritten without touching other fields, the
// per-item header of POST /batch, and the rule that nothing outside src/telemetry/ loads OpenTelemetry.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { buildMessage, inspectMessage } from '../../src/savant/message.js';
import {
  hasPropagatedContext,
  readPropagatedContext,
  replacePropagatedContext,
} from '../../src/savant/propagated-context.js';
import {
  decodeEntry,
  encodeEntry,
  formatTraceContexts,
  MAX_HEADER_BYTES,
  splitTraceContexts,
} from '../../src/telemetry/item-contexts.js';
import { trace } from '@opentelemetry/api';
import { repoRoot } from '../helpers/cli.js';

test('propagated_context: found without decoding, read, and replaced in place of the old entries', () => {
  const plain = buildMessage({ content: 'user_data', sourceId: 'cam', routingLabels: ['a'], seqId: 7n });
  assert.equal(hasPropagatedContext(plain), false);
  assert.deepEqual({ ...readPropagatedContext(plain) }, {});
  const withCtx = replacePropagatedContext(plain, { traceparent: 'tp', x: 'y' });
  assert.equal(hasPropagatedContext(withCtx), true);
  assert.deepEqual({ ...readPropagatedContext(withCtx) }, { traceparent: 'tp', x: 'y' });
  // every other field survives, in order: the result still inspects the same
  const before = inspectMessage(plain);
  assert.deepEqual(inspectMessage(withCtx), before);
  const again = replacePropagatedContext(withCtx, { traceparent: 'new' });
  assert.deepEqual({ ...readPropagatedContext(again) }, { traceparent: 'new' });
  assert.deepEqual(inspectMessage(again), before);
  // removing the map gives back the original bytes
  assert.deepEqual(Buffer.from(replacePropagatedContext(again, {})), Buffer.from(plain));
});

test('propagated_context: a truncated message is not rewritten, and malformed bytes have no context', () => {
  const m = replacePropagatedContext(buildMessage({ content: 'user_data' }), { traceparent: 'x' });
  assert.throws(() => replacePropagatedContext(m.subarray(0, m.length - 1), {}), /malformed/);
  assert.equal(hasPropagatedContext(new Uint8Array([0x0a, 0x7f])), false, 'length past the end');
  assert.equal(hasPropagatedContext(new Uint8Array([0xff, 0xff, 0xff])), false, 'unterminated tag');
  assert.equal(hasPropagatedContext(new Uint8Array([0x0b, 0x1a, 0x00])), false, 'group wire type');
});

test('batch header: one entry per item, empty for untraced, ignored when the count differs', () => {
  const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  const header = formatTraceContexts([encodeEntry(sc), undefined, encodeEntry(sc)]);
  const entries = splitTraceContexts(header, 3)!;
  assert.equal(entries[1], '');
  const back = trace.getSpanContext(decodeEntry(entries[0])!)!;
  assert.deepEqual(
    { traceId: back.traceId, spanId: back.spanId, traceFlags: back.traceFlags, isRemote: back.isRemote },
    { ...sc, isRemote: true },
  );
  assert.equal(splitTraceContexts(header, 2), undefined);
  assert.equal(decodeEntry('not-an-entry'), undefined);
  assert.equal(decodeEntry('A'.repeat(34)), undefined, 'all-zero ids are invalid');
});

test('batch header: stays within its budget, entries past it are left empty', () => {
  const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  const n = 1000;
  const header = formatTraceContexts(Array.from({ length: n }, () => encodeEntry(sc)));
  assert.ok(header.length <= MAX_HEADER_BYTES + n);
  const entries = splitTraceContexts(header, n)!;
  assert.ok(entries[0] !== '' && entries[n - 1] === '');
});

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('with telemetry off nothing loads OpenTelemetry: only src/telemetry/ imports it, others import it lazily or for types', async () => {
  const src = path.join(repoRoot, 'src');
  for (const file of await sources(src)) {
    if (file.startsWith(path.join(src, 'telemetry') + path.sep)) continue;
    const text = await readFile(file, 'utf8');
    const eager = /^import\s+(?!type\b)[^;]*from\s+'(@opentelemetry\/[^']+|[./]+telemetry\/[^']+)'/gm;
    assert.equal(eager.exec(text), null, `${path.relative(repoRoot, file)} imports telemetry eagerly`);
  }
});
