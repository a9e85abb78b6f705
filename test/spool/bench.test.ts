// `npm run bench` spool modes: a tiny run of mtls and mtls-spool delivers everything and reports the
// spool's throughput as a share of mtls (the figure itself is for the benchmark, not for a test).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test(
  'bench --modes mtls,mtls-spool runs both and reports the spool share',
  { timeout: 280_000 },
  async (t) => {
    const dir = await tempDir(t);
    const json = path.join(dir, 'bench.json');
    const res = await runCli(
      [
        'bench',
        '--seconds',
        '1',
        '--sizes',
        '1k',
        '--modes',
        'mtls,mtls-spool',
        '--json',
        json,
        '--svg',
        path.join(dir, 'b.svg'),
      ],
      { timeoutMs: 270_000 },
    );
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(await readFile(json, 'utf8'));
    assert.equal(report.failed, false);
    const spool = report.runs.find((r: { name: string }) => r.name === 'mtls-spool');
    assert.equal(spool.unique, spool.sent, 'every message arrives through the spool');
    const target = report.targets.find((x: { id: string }) => x.id === 'spool-1k');
    assert.ok(target.measured > 0, 'the share of mtls is measured');
    assert.match(res.stdout, /mtls-spool 1 KiB msg\/s vs mtls: \d+%/);
  },
);
