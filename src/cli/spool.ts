// `media-gateway spool`: look into a client spool directory without a running client: per-topic counts,
// oldest/newest time and bytes (inspect), or every pending message written out as files (export).
import { dispatch, out, positionals, type Subcommand } from '../pki/command.js';
import { exportSpool, inspectSpool, type SpoolReport } from '../spool/index.js';
import { escapeJsonLine } from '../util/log.js';

const PROG = 'media-gateway spool';

/** A string from the spool's files (topics, the instance file): JSON-quoted, with nothing a terminal acts on. */
const quoted = (s: string) => escapeJsonLine(JSON.stringify(s));

function formatReport(r: SpoolReport): string {
  const lines = [
    `spool ${r.dir}${r.instance ? ` (instance ${quoted(r.instance)})` : ''}`,
    `${r.messages} messages pending, ${r.bytes} bytes in segment files, ${r.damagedRecords} damaged records`,
  ];
  if (r.topics.length) {
    lines.push('', 'topic\tmessages\tend-of-stream\tbytes\toldest\tnewest');
    for (const t of r.topics)
      lines.push(`${quoted(t.topic)}\t${t.messages}\t${t.endOfStream}\t${t.bytes}\t${t.oldest}\t${t.newest}`);
  }
  return lines.join('\n');
}

const inspect: Subcommand = {
  usage: `inspect <dir> [--json]
Per topic: messages pending (not yet delivered), end-of-stream messages among them, bytes, oldest and
newest read time; and damaged records found. Reads only; safe next to a running client (a snapshot).
  --json   machine-readable report`,
  options: { json: { type: 'boolean' } },
  async run(args, v) {
    const [dir] = positionals(args, ['dir'], `${PROG} ${inspect.usage.split('\n')[0]}`);
    const report = inspectSpool(dir);
    out(v.json ? escapeJsonLine(JSON.stringify(report, null, 2)) : formatReport(report));
    return 0;
  },
};

const exportCmd: Subcommand = {
  usage: `export <dir> <out-dir>
Writes every pending message as <seq>.media (the encoded Media a POST / carries) and <seq>.json
(topic, read time, end-of-stream, size); damaged regions are listed in damaged.json.`,
  options: {},
  async run(args) {
    const [dir, outDir] = positionals(args, ['dir', 'out-dir'], `${PROG} ${exportCmd.usage.split('\n')[0]}`);
    const r = exportSpool(dir, outDir);
    out(
      `exported ${r.messages} messages to ${outDir}${r.damaged ? ` (${r.damaged} damaged regions listed in damaged.json)` : ''}`,
    );
    return 0;
  },
};

export async function run(argv: string[]): Promise<number> {
  return dispatch(
    PROG,
    `Usage: ${PROG} <subcommand> [options]\n\nLooks into a client spool directory (docs/spool.md).`,
    { inspect, export: exportCmd },
    argv,
  );
}
