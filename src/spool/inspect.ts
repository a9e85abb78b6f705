// Offline views of a spool directory for `media-gateway spool`: a per-topic summary (inspect) and every
// pending message written out as a file (export), for forensics. Both only read the spool, so they can run
// next to a live client; what they see is a snapshot.
import { SpoolError } from './spool.js';
import fs from 'node:fs';
import path from 'node:path';
import { encodeMedia } from '../savant/media.js';
import { listSegments, readSegmentFile, scanSummaries } from './segment-log.js';

export interface TopicReport {
  topic: string;
  messages: number;
  endOfStream: number;
  bytes: number;
  oldest: string;
  newest: string;
}

export interface SpoolReport {
  dir: string;
  instance?: string;
  /** bytes of all files of the spool */
  bytes: number;
  messages: number;
  damagedRecords: number;
  topics: TopicReport[];
}

const LOGS = ['messages', 'end-of-stream'];

function requireSpoolDir(dir: string): void {
  const isSpool = fs.existsSync(path.join(dir, 'messages')) || fs.existsSync(path.join(dir, 'instance'));
  if (!isSpool)
    throw new SpoolError(
      'spool_not_found',
      `${dir} is not a spool directory (no messages/ or instance file)`,
    );
}

export function inspectSpool(dir: string): SpoolReport {
  requireSpoolDir(dir);
  const topics = new Map<
    string,
    { messages: number; endOfStream: number; bytes: number; oldest: number; newest: number }
  >();
  let bytes = 0;
  let messages = 0;
  let damagedRecords = 0;
  for (const log of LOGS) {
    for (const seg of listSegments(path.join(dir, log))) {
      if (seg.unusable) {
        damagedRecords++;
        continue;
      }
      bytes += seg.size;
      for (const item of scanSummaries(seg.file, seg.size)) {
        if (item.kind === 'damage') {
          damagedRecords++;
          continue;
        }
        const s = item.summary;
        if (seg.finished.has(s.seq)) continue;
        messages++;
        const name = Buffer.from(s.topic).toString('utf8');
        let t = topics.get(name);
        if (!t)
          topics.set(
            name,
            (t = { messages: 0, endOfStream: 0, bytes: 0, oldest: Infinity, newest: -Infinity }),
          );
        t.messages++;
        if (s.endOfStream) t.endOfStream++;
        t.bytes += item.length;
        // summaries are read without the checksum: a damaged time (NaN, out of Date's range) is left out
        if (validTime(s.time)) {
          t.oldest = Math.min(t.oldest, s.time);
          t.newest = Math.max(t.newest, s.time);
        }
      }
    }
  }
  let instance: string | undefined;
  try {
    instance = fs.readFileSync(path.join(dir, 'instance'), 'utf8').trim();
  } catch {
    instance = undefined;
  }
  return {
    dir,
    instance,
    bytes,
    messages,
    damagedRecords,
    topics: [...topics.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([topic, t]) => ({
        topic,
        messages: t.messages,
        endOfStream: t.endOfStream,
        bytes: t.bytes,
        oldest: isoTime(t.oldest),
        newest: isoTime(t.newest),
      })),
  };
}

/** Date's range: ±8.64e15 ms around the epoch. */
const validTime = (ms: number) => Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;

const isoTime = (ms: number) => (validTime(ms) ? new Date(ms).toISOString() : 'unknown');

/**
 * Writes every pending message as `<seq>.media` (the encoded Media a POST / would carry, the dead-letter
 * format) with a `<seq>.json` sidecar; damaged regions are listed in `damaged.json`. Returns the counts.
 */
export function exportSpool(dir: string, outDir: string): { messages: number; damaged: number } {
  requireSpoolDir(dir);
  fs.mkdirSync(outDir, { recursive: true });
  let messages = 0;
  const seen = new Map<number, number>();
  const damaged: { file: string; offset: number; skippedBytes: number; reason: string }[] = [];
  for (const log of LOGS) {
    for (const seg of listSegments(path.join(dir, log))) {
      if (seg.unusable) {
        damaged.push({ file: seg.file, offset: 0, skippedBytes: 0, reason: seg.unusable });
        continue;
      }
      for (const item of readSegmentFile(seg.file)) {
        if (item.kind === 'damage') {
          damaged.push({
            file: seg.file,
            offset: item.offset,
            skippedBytes: item.skipped,
            reason: item.reason,
          });
          continue;
        }
        const m = item.message;
        if (seg.finished.has(m.seq)) continue;
        // a number found twice (a segment file copied): every copy is written, the later ones suffixed
        const copies = seen.get(m.seq) ?? 0;
        seen.set(m.seq, copies + 1);
        const name = `${String(m.seq).padStart(20, '0')}${copies ? `-${copies + 1}` : ''}`;
        fs.writeFileSync(path.join(outDir, `${name}.media`), encodeMedia(m), { flag: 'wx' });
        const sidecar = {
          seq: m.seq,
          topic: Buffer.from(m.topic).toString('utf8'),
          topicBase64: Buffer.from(m.topic).toString('base64'),
          time: isoTime(m.time),
          endOfStream: m.endOfStream,
          bytes: m.message.length + m.data.reduce((n, d) => n + d.length, 0),
        };
        fs.writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(sidecar, null, 2)}\n`, {
          flag: 'wx',
        });
        messages++;
      }
    }
  }
  if (damaged.length)
    fs.writeFileSync(path.join(outDir, 'damaged.json'), `${JSON.stringify(damaged, null, 2)}\n`, {
      flag: 'wx', // never through a symlink someone left in the output directory
    });
  return { messages, damaged: damaged.length };
}
