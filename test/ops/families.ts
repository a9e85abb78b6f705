// The metric families as docs/metrics.md documents them and as an exposition (GET /metrics) declares them.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../helpers/cli.js';

const DOC = path.join(repoRoot, 'docs', 'metrics.md');

/** `| \`media_gateway_x\` | counter | ...` rows of the reference table → name → type. */
export async function documentedFamilies(): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  for (const m of (await readFile(DOC, 'utf8')).matchAll(/^\| `(media_gateway_\w+)` \| (\w+) \|/gm))
    rows.set(m[1], m[2]);
  return rows;
}

/** The `# TYPE` lines of an exposition → name → type. */
export function exportedFamilies(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}
