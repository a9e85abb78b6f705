// The files operators install from deploy/: Prometheus alert rules (checked and unit-tested with Debian's
// promtool), the Grafana dashboard (every query valid PromQL, every metric name one the gateway exports), and
// the systemd units (systemd-analyze verify, hardening settings present).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { exportFamilies, registry, type FamilyGroup } from '../../src/metrics/registry.js';
// the spool declares its families in its own observer module: load it so that they exist in this process
import '../../src/spool/observe.js';
import { binPath, repoRoot } from '../helpers/cli.js';
import { promtool, runTool } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

const DEPLOY = path.join(repoRoot, 'deploy');
const RULES = path.join(DEPLOY, 'prometheus', 'alerts.yml');
const DASHBOARD = path.join(DEPLOY, 'grafana', 'media-gateway.json');
const SYSTEMD = path.join(DEPLOY, 'systemd');

/** Every family either half can export: all groups switched on in this process. */
function liveFamilies(): Set<string> {
  const all: FamilyGroup[] = ['common', 'server', 'client', 'spool', 'trust', 'tls', 'auth', 'quarantine'];
  exportFamilies(all);
  const names = new Set<string>();
  for (const m of registry.getMetricsAsArray()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

/** Metric names in a PromQL expression: our prefix and prom-client's process/Node.js families. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:media_gateway|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]);
}

interface Rule {
  alert: string;
  expr: string;
}

async function rules(): Promise<Rule[]> {
  const doc = parseYaml(await readFile(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

test('promtool check rules accepts deploy/prometheus/alerts.yml', async () => {
  const r = await promtool(['check', 'rules', RULES]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 9 rules found/);
});

test('promtool test rules: every alert fires on its synthetic series and stays quiet otherwise', async () => {
  const r = await promtool(['test', 'rules', path.join(DEPLOY, 'prometheus', 'alerts.test.yml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  // each rule has a test case
  const tested = await readFile(path.join(DEPLOY, 'prometheus', 'alerts.test.yml'), 'utf8');
  for (const rule of await rules())
    assert.match(tested, new RegExp(`alertname: ${rule.alert}\\b`), rule.alert);
});

test('the alert rules cover the operational failures and query only exported families', async () => {
  const all = await rules();
  assert.deepEqual(all.map((r) => r.alert).sort(), [
    'MediaGatewayClientRetrying',
    'MediaGatewayCrlExpiringSoon',
    'MediaGatewayDeadLetters',
    'MediaGatewayEtcdDisconnected',
    'MediaGatewayNoTrustedCa',
    'MediaGatewaySpoolFilling',
    'MediaGatewayTlsRejectionsRising',
    'MediaGatewayTrustDirectoryErrors',
    'MediaGatewayTrustReloadFailing',
  ]);
  const live = liveFamilies();
  for (const rule of all)
    for (const name of metricNames(rule.expr))
      assert.ok(live.has(name), `${rule.alert}: no such metric ${name}`);
});

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

async function dashboardQueries(): Promise<{ where: string; expr: string }[]> {
  const dash = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; query?: { query?: string } | string }[] };
  };
  const out: { where: string; expr: string }[] = [];
  for (const p of dash.panels) for (const t of p.targets ?? []) out.push({ where: p.title, expr: t.expr });
  for (const v of dash.templating.list) {
    const q = typeof v.query === 'object' ? v.query.query : undefined;
    if (q?.startsWith('label_values(')) out.push({ where: `variable ${v.name}`, expr: q });
  }
  return out;
}

test('the Grafana dashboard queries only metric names the gateway exports', async () => {
  const live = liveFamilies();
  const queries = await dashboardQueries();
  assert.ok(queries.length >= 15);
  for (const { where, expr } of queries) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
    for (const name of names) assert.ok(live.has(name), `${where}: no such metric ${name}`);
  }
});

test('every dashboard query is valid PromQL (promtool parses it as a recording rule)', async (t) => {
  const dir = await tempDir(t, 'mg-dashboard-');
  // Grafana's variables, replaced by what Grafana would put there
  const concrete = (expr: string) =>
    expr
      .replace(/\$__rate_interval|\$__range/g, '5m')
      .replace(/\$(job|instance)\b/g, '.*')
      .replace(/^label_values\(([^,]+), \w+\)$/, 'group by (job, instance) ($1)');
  const queries = (await dashboardQueries()).map((q, i) => ({
    record: `dashboard:query_${i}`,
    expr: concrete(q.expr),
  }));
  const file = path.join(dir, 'queries.yml');
  await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: queries }] }));
  const r = await promtool(['check', 'rules', file]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

/** The units with their ExecStart* binary pointed at this checkout's bin/media-gateway (see below). */
async function unitsForVerify(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const name of (await readdir(SYSTEMD)).filter((f) => /\.(service|timer)$/.test(f))) {
    const text = await readFile(path.join(SYSTEMD, name), 'utf8');
    await writeFile(path.join(dir, name), text.replaceAll('/usr/local/bin/media-gateway', binPath));
    files.push(path.join(dir, name));
  }
  return files;
}

// systemd-analyze verify runs here without a running systemd (it loads the units into a private manager).
// It checks that each ExecStart* program exists and is executable, and media-gateway is not installed at
// /usr/local/bin on a test machine, so that one path is replaced by this checkout's bin/media-gateway; every
// other line is verified as written. verify exits 0 even for unknown keys or bad values (it only prints
// them), so the test also requires it to print nothing.
test('systemd-analyze verify accepts every unit in deploy/systemd, with nothing to say', async (t) => {
  const dir = await tempDir(t, 'mg-units-');
  const files = await unitsForVerify(dir);
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), [
    'media-gateway-client.service',
    'media-gateway-crl-renew.service',
    'media-gateway-crl-renew.timer',
    'media-gateway-server.service',
  ]);
  const r = await runTool('systemd-analyze', ['verify', '--man=no', ...files]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout + r.stderr, '');
});

test('systemd-analyze verify does report a misspelt key (so the check above can fail)', async (t) => {
  const dir = await tempDir(t, 'mg-units-');
  const [server] = (await unitsForVerify(dir)).filter((f) => f.endsWith('server.service'));
  await writeFile(
    server,
    (await readFile(server, 'utf8')).replace('Restart=on-failure', 'Restrat=on-failure'),
  );
  const r = await runTool('systemd-analyze', ['verify', '--man=no', server]);
  assert.match(r.stdout + r.stderr, /Unknown key 'Restrat'/);
});

test('the units of both halves are hardened: own user, read-only system and keys, restart on failure', async () => {
  for (const half of ['server', 'client']) {
    const unit = await readFile(path.join(SYSTEMD, `media-gateway-${half}.service`), 'utf8');
    for (const line of [
      'User=media-gateway',
      'ProtectSystem=strict',
      'ReadOnlyPaths=/etc/media-gateway',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'Restart=on-failure',
      `ExecStart=/usr/local/bin/media-gateway ${half} --config /etc/media-gateway/${half}.json`,
    ])
      assert.match(
        unit,
        new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
        `${half}: ${line}`,
      );
  }
  // the event loop ahead of other local load: revocation under a flood (docs/security.md)
  assert.match(await readFile(path.join(SYSTEMD, 'media-gateway-server.service'), 'utf8'), /^Nice=-5$/m);
  const sysusers = await readFile(path.join(SYSTEMD, 'media-gateway.sysusers.conf'), 'utf8');
  assert.match(sysusers, /^u media-gateway /m);
  const timer = await readFile(path.join(SYSTEMD, 'media-gateway-crl-renew.timer'), 'utf8');
  assert.match(timer, /^OnCalendar=daily$/m);
});
