// The gateway halves as child processes of the built CLI, and their CPU time and peak RSS read
// from /proc just before they are stopped (so each figure covers exactly one run).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ProbeReply, ProbeReport } from './half-probe.js';

/** bin/media-gateway, found from this module (dist/bench/ or src/bench/). */
export const BIN_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bin',
  'media-gateway',
);

/** How bin/media-gateway starts node: the environment its `env -S` line sets and the node flags it passes. */
export interface LauncherCommand {
  env: Record<string, string>;
  nodeFlags: string[];
}

/**
 * The launcher's `#!/usr/bin/env -S [NAME=value ...] node <flags>` line: the halves (and the floor's pumps) run
 * with exactly the environment and flags an operator's `bin/media-gateway` gets, under this process's node
 * binary. Any other first line gives neither.
 */
export function launcherCommand(binText: string): LauncherCommand {
  const first = binText.split('\n', 1)[0];
  const m = /^#!\S*env\s+-S\s+(.*)$/.exec(first);
  const words = m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]); i++) {
    const at = words[i].indexOf('=');
    env[words[i].slice(0, at)] = words[i].slice(at + 1);
  }
  if (words[i] !== 'node') return { env: {}, nodeFlags: [] };
  return { env, nodeFlags: words.slice(i + 1) };
}

/** The built probe (dist/), preloaded into each half; found like BIN_PATH. */
const PROBE_PATH = path.resolve(path.dirname(BIN_PATH), '..', 'dist', 'bench', 'half-probe.js');

/** How long the harness waits for a probe's answer before giving up on the figure (never on the run). */
const PROBE_TIMEOUT_MS = 2000;

export interface ProcessUsage {
  /** user + system CPU seconds since the process started */
  cpuS: number;
  /** VmHWM: peak resident set size, MiB */
  peakRssMiB: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

export async function readProcessUsage(pid: number): Promise<ProcessUsage> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return {
    cpuS: (utime + stime) / ticksPerSecond(),
    peakRssMiB: hwm ? Number(hwm[1]) / 1024 : Number.NaN,
  };
}

export interface GatewayProcess {
  readonly kind: 'server' | 'client';
  readonly child: ChildProcess;
  /** the last output lines (for error messages) */
  output(): string;
  /** CPU seconds spent until the process was ready (start-up, module loading) */
  startupCpuS: number;
  usage(): Promise<ProcessUsage>;
  /** restarts the probe's event-loop delay and GC counts (false when the probe did not answer) */
  resetProbe(): Promise<boolean>;
  /** the probe's figures since its last reset, or null when it did not answer */
  probe(): Promise<ProbeReport | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_KEEP = 16 * 1024;

/**
 * How long a half may take to log "listening on". Only a guard against a half that never starts: a
 * loaded 2-core machine took more than 15 s to start one (the tests run the bench with tiny settings).
 */
const READY_TIMEOUT_MS = 60_000;

/** A program started in a half's place (the `relay` mode's children): a built script and its arguments. */
export interface HalfProgram {
  /** shown in errors instead of the kind */
  name: string;
  script: string;
  args: string[];
}

/** The built relay children (dist/), found like BIN_PATH; see relay-child.ts. */
export const RELAY_CHILD_PATH = path.resolve(path.dirname(BIN_PATH), '..', 'dist', 'bench', 'relay-child.js');

/**
 * Starts `media-gateway <kind> <configPath>` (or `program` in its place, with the same node flags and probe)
 * and resolves once it logged "listening on".
 * With profileDir the process runs under `node --cpu-prof` (the profile is written on its clean exit).
 */
export async function startGatewayProcess(
  kind: 'server' | 'client',
  configPath: string,
  opts: {
    profileDir?: string;
    readyTimeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    program?: HalfProgram;
    /** false: without the probe (./half-probe.ts); probe() and resetProbe() then answer null and false */
    probe?: boolean;
  } = {},
): Promise<GatewayProcess> {
  const name = opts.program?.name ?? kind;
  const command = opts.program ? [opts.program.script, ...opts.program.args] : [BIN_PATH, kind, configPath];
  const launcher = launcherCommand(await readFile(BIN_PATH, 'utf8'));
  const nodeFlags = [
    ...launcher.nodeFlags,
    ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : []),
    ...(opts.probe === false ? [] : ['--import', pathToFileURL(PROBE_PATH).href]),
  ];
  const child = spawn(process.execPath, [...nodeFlags, ...command], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...launcher.env, ...opts.env },
  });
  // The harness must not wait on the channel either (a half that exits closes it).
  child.channel?.unref();
  const ask = <K extends ProbeReply['probe']>(probe: K): Promise<Extract<ProbeReply, { probe: K }> | null> =>
    new Promise((resolve) => {
      if (!child.connected) return resolve(null);
      const done = (reply: Extract<ProbeReply, { probe: K }> | null): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(reply);
      };
      const onMessage = (m: ProbeReply): void => {
        if (m?.probe === probe) done(m as Extract<ProbeReply, { probe: K }>);
      };
      const timer = setTimeout(() => done(null), PROBE_TIMEOUT_MS);
      child.on('message', onMessage);
      child.send({ probe }, (err) => err && done(null));
    });
  let out = '';
  let ready = false;
  let onReady: (() => void) | undefined;
  const onData = (d: Buffer): void => {
    // Always drain the pipes: a child blocked on a full pipe would distort the figures.
    out = (out + d.toString('utf8')).slice(-OUTPUT_KEEP);
    if (!ready && /listening on/.test(out)) {
      ready = true;
      onReady?.();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const handle: GatewayProcess = {
    kind,
    child,
    output: () => out,
    startupCpuS: 0,
    usage: () => readProcessUsage(child.pid!),
    resetProbe: async () => (await ask('reset')) !== null,
    probe: async () => (await ask('report'))?.report ?? null,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(
          `${name} did not log "listening on" within ${opts.readyTimeoutMs ?? READY_TIMEOUT_MS} ms:\n${out}`,
        ),
      );
    }, opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
    const fail = (): void => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${child.exitCode}):\n${out}`));
    };
    child.once('close', fail);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    onReady = () => {
      clearTimeout(timer);
      child.off('close', fail);
      resolve();
    };
    if (ready) onReady();
  }).catch(async (err) => {
    await handle.stop(500);
    throw err;
  });
  handle.startupCpuS = (await handle.usage()).cpuS;
  return handle;
}

/** Starts a relay child (relay-child.ts) in a half's place: relay-in as the client, relay-out as the server. */
export function startRelayProcess(
  role: 'relay-in' | 'relay-out',
  args: object,
  opts: { profileDir?: string; readyTimeoutMs?: number } = {},
): Promise<GatewayProcess> {
  return startGatewayProcess(role === 'relay-in' ? 'client' : 'server', '', {
    ...opts,
    program: { name: role, script: RELAY_CHILD_PATH, args: [role, JSON.stringify(args)] },
  });
}
