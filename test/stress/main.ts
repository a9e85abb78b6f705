// `npm run stress`: the hostile-client suite against a real server on loopback (docs/security.md).
// Every attack is bounded in count and time; every figure is printed and written to
// stress-report.json (or the path given with --out). `--scale 0.1` runs a smaller version; `--limits
// JSON` adds server `limits` keys to every attack (e.g. '{"helper_thread_nice":0}' to compare);
// `--server-nice N` starts each server under `nice -n N` (as systemd's Nice=; below 0 needs root).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { makeLab } from './harness.js';
import {
  argon2Flood,
  bodyAmplification,
  declaredLength,
  enumeration,
  flood,
  protocol,
  quarantineBypass,
  slowClients,
  type AttackReport,
} from './attacks.js';

export const ATTACKS = {
  'body-amplification': bodyAmplification,
  flood,
  'slow-client': slowClients,
  'declared-length': declaredLength,
  'argon2-flood': argon2Flood,
  'quarantine-bypass': quarantineBypass,
  enumeration,
  protocol,
} as const;

export async function runSuite(
  scale: number,
  only?: string[],
  log = console.log,
  limits: Record<string, unknown> = {},
  serverNice?: number,
): Promise<AttackReport[]> {
  const lab = await makeLab(limits, serverNice);
  const reports: AttackReport[] = [];
  try {
    for (const [name, attack] of Object.entries(ATTACKS)) {
      if (only && !only.includes(name)) continue;
      const started = Date.now();
      const r = await attack(lab, scale);
      log(`${name} (${Math.round((Date.now() - started) / 1000)} s): ${JSON.stringify(r)}`);
      reports.push(r);
    }
  } finally {
    await lab.cleanup();
  }
  return reports;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1' },
      out: { type: 'string', default: 'stress-report.json' },
      only: { type: 'string' },
      limits: { type: 'string', default: '{}' },
      'server-nice': { type: 'string' },
    },
  });
  const scale = Number(values.scale);
  const started = Date.now();
  const limits = JSON.parse(values.limits!) as Record<string, unknown>;
  const serverNice = values['server-nice'] === undefined ? undefined : Number(values['server-nice']);
  const reports = await runSuite(scale, values.only?.split(','), console.log, limits, serverNice);
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    scale,
    limits,
    serverNice: serverNice ?? null,
    seconds: Math.round((Date.now() - started) / 1000),
    attacks: reports,
  };
  writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${values.out} (${report.seconds} s)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
