// Command dispatcher for `media-gateway <command> ...`. Each command lives in its own module
// under src/cli/ and exports `run(argv): Promise<number>` returning the process exit code.
// `--version` works before or after any command; a command that throws ends in one line, never a stack.
import { failureLine } from '../util/usage.js';

type CommandModule = { run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  server: { summary: 'run the cloud half: HTTP(S) in, ZeroMQ out', load: () => import('./server.js') },
  client: { summary: 'run the edge half: ZeroMQ in, HTTP(S) out', load: () => import('./client.js') },
  demo: {
    summary: 'run server, client, a synthetic source and a sink on loopback',
    load: () => import('./demo.js'),
  },
  pki: { summary: 'private CA: init, issue, revoke, crl, list', load: () => import('./pki.js') },
  store: { summary: 'trust hash directory: add, hash, doctor, renew-crls', load: () => import('./store.js') },
  users: { summary: 'manage Basic-auth user records in etcd', load: () => import('./users.js') },
  bench: { summary: 'throughput/latency benchmark on loopback', load: () => import('./bench.js') },
  spool: { summary: 'client spool directory: inspect, export', load: () => import('./spool.js') },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `Usage: media-gateway <command> [options]\n       media-gateway --version\n\nCommands:\n${lines.join('\n')}\n\nRun 'media-gateway <command> --help' for the options of a command.\n`;
}

/** True when `--version` is among the options (not after a `--`). */
function asksForVersion(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--version' || a === '-V');
}

async function printVersion(): Promise<void> {
  // loaded only here: the libzmq version needs the native module
  const { buildInfo } = await import('../ops/build-info.js');
  const info = buildInfo();
  process.stdout.write(`media-gateway ${info.version} (node ${info.node}, libzmq ${info.libzmq})\n`);
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd && asksForVersion(argv)) {
    await printVersion();
    process.exitCode = 0;
    return;
  }
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    process.exitCode = cmd ? 0 : 2;
    return;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`media-gateway: unknown command '${cmd}' (see 'media-gateway --help')\n`);
    process.exitCode = 2;
    return;
  }
  const prog = `media-gateway ${cmd}`;
  try {
    const mod = await entry.load();
    process.exitCode = await mod.run(rest);
  } catch (err) {
    process.stderr.write(failureLine(prog, err));
    process.exitCode = 1;
  }
}
