// The shape shared by `media-gateway client` and `media-gateway server`: parse `[config.json] [--check]`,
// load the configuration (or the embedded default), then either only check it (with every file it names)
// or start the half and run it until a stop signal. Each command module says only what differs.
import { parseArgs } from 'node:util';
import { checkReferencedFiles } from '../config/check.js';
import { ConfigError } from '../config/errors.js';
import type { Finding } from '../preflight/index.js';
import type { ClientConfig, ServerConfig } from '../config/types.js';

export interface LoadedConfig<C> {
  config: C;
  warnings: string[];
}

export interface RunningHalf {
  /** Called once, with the signal that asked for the stop. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export interface HalfCommand<C extends ClientConfig | ServerConfig> {
  /** the command name, used as the `media-gateway <name>:` prefix of error messages */
  name: string;
  help: string;
  /** `file` is undefined when no configuration file was given */
  load(file: string | undefined, opts: { allowUnknownKeys?: boolean }): Promise<LoadedConfig<C>>;
  warn(warning: string): void;
  /** The stderr line for a configuration that failed to load or check (or rethrows what it does not expect). */
  loadFailure(err: unknown): string;
  /** The start-up checks (src/preflight/); `bind` only for `--check`, since start-up binds for real. */
  preflight(config: C, opts: { bind: boolean }): Promise<Finding[]>;
  /** Starts the half; a rejection's message is printed after the `media-gateway <name>:` prefix. */
  start(config: C): Promise<RunningHalf>;
  stopSignals: readonly NodeJS.Signals[];
}

export async function runHalf<C extends ClientConfig | ServerConfig>(
  cmd: HalfCommand<C>,
  argv: string[],
): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        check: { type: 'boolean' },
        'allow-unknown-keys': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`media-gateway ${cmd.name}: ${(err as Error).message}\n\n${cmd.help}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(cmd.help);
    return 0;
  }
  if (args.positionals.length > 1) {
    process.stderr.write(`media-gateway ${cmd.name}: expected at most one configuration file\n\n${cmd.help}`);
    return 2;
  }

  let config: C;
  try {
    const allowUnknownKeys = args.values['allow-unknown-keys'] ? true : undefined;
    const loaded = await cmd.load(args.positionals[0], { allowUnknownKeys });
    config = loaded.config;
    for (const w of loaded.warnings) cmd.warn(w);
    await checkReferencedFiles(config);
    const findings = await cmd.preflight(config, { bind: args.values.check === true });
    const where = (f: Finding) => `${config.source ? `${config.source}: ` : ''}${f.path}: ${f.message}`;
    for (const f of findings.filter((x) => x.severity === 'warning')) cmd.warn(where(f));
    const errors = findings.filter((x) => x.severity === 'error');
    if (errors.length > 0) {
      for (const f of errors) process.stderr.write(`media-gateway ${cmd.name}: ${where(f)}\n`);
      return 1;
    }
    if (args.values.check) {
      process.stdout.write('configuration OK\n');
      return 0;
    }
  } catch (err) {
    if (err instanceof ConfigError) for (const w of err.warnings) cmd.warn(w);
    process.stderr.write(`${cmd.loadFailure(err)}\n`);
    return 1;
  }

  let running;
  try {
    running = await cmd.start(config);
  } catch (err) {
    process.stderr.write(`media-gateway ${cmd.name}: ${(err as Error).message}\n`);
    return 1;
  }
  const signal = await waitForStopSignal(cmd.stopSignals);
  await running.stop(signal);
  return 0;
}

// After the first signal the handlers are gone, so a second one ends the process at once.
function waitForStopSignal(signals: readonly NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, onSignal);
      resolve(signal);
    };
    for (const s of signals) process.on(s, onSignal);
  });
}
