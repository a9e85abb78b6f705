// The shape shared by `media-gateway client` and `media-gateway server`: parse
// `[--config FILE | FILE] [--check] [--allow-unknown-keys]`, load the configuration (or the embedded default), then either only
// check it (with every file it names) or start the half and run it until a stop signal. Both halves print
// configuration warnings through the logger and errors as one `media-gateway <name>:` line (./errors.ts).
// Each command module says only what differs.
import { parseArgs } from 'node:util';
import { checkReferencedFiles, ConfigError, type ClientConfig, type ServerConfig } from '../config/index.js';
import type { Finding } from '../preflight/index.js';
import { logger } from '../util/index.js';
import { failureLine, parseArgsMessage, usageLine } from '../util/usage.js';

const configLog = logger('media_gateway::config');

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
  const prog = `media-gateway ${cmd.name}`;
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        'allow-unknown-keys': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(usageLine(prog, parseArgsMessage(err)));
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(cmd.help);
    return 0;
  }
  const files = [...(args.values.config === undefined ? [] : [args.values.config]), ...args.positionals];
  if (files.length > 1) {
    process.stderr.write(usageLine(prog, `expected one configuration file, got ${files.length}`));
    return 2;
  }

  let config: C;
  try {
    const allowUnknownKeys = args.values['allow-unknown-keys'] ? true : undefined;
    const loaded = await cmd.load(files[0], { allowUnknownKeys });
    config = loaded.config;
    for (const w of loaded.warnings) configLog.warn(w);
    // the same checks for --check and for start-up; --check also binds and releases the listen addresses
    await checkReferencedFiles(config);
    const findings = await cmd.preflight(config, { bind: args.values.check === true });
    const where = (f: Finding) => `${config.source ? `${config.source}: ` : ''}${f.path}: ${f.message}`;
    for (const f of findings.filter((x) => x.severity === 'warning')) configLog.warn(where(f));
    const errors = findings.filter((x) => x.severity === 'error');
    if (errors.length > 0) {
      for (const f of errors) process.stderr.write(failureLine(prog, where(f)));
      return 1;
    }
    if (args.values.check) {
      process.stdout.write('configuration OK\n');
      return 0;
    }
  } catch (err) {
    if (err instanceof ConfigError) for (const w of err.warnings) configLog.warn(w);
    // Configuration problems are the operator's to fix: the message says where, a stack trace would not help.
    const message =
      err instanceof ConfigError ? err.message : `cannot load configuration: ${(err as Error).message}`;
    process.stderr.write(failureLine(prog, message));
    return 1;
  }

  let running;
  try {
    running = await cmd.start(config);
  } catch (err) {
    process.stderr.write(failureLine(prog, err));
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
