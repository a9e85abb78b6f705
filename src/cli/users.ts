// `media-gateway users`: manage the Basic-auth user records (and certificate identity records) in etcd,
// using the etcd settings and data_format of a server configuration. Passwords are hashed with Argon2id;
// a password is never printed or logged.
import { UsageError } from '../errors/index.js';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import argon2 from 'argon2';
import type { Etcd3 } from 'etcd3';
import { type EtcdConfig, type ServerConfig, loadServerConfig } from '../config/index.js';
import { createEtcdClient, describeEtcdFailure, etcdPrefix } from '../auth/etcd-client.js';
import { failureLine, parseArgsMessage, usageLine } from '../util/usage.js';
import { certificateIdentityPrefix } from '../auth/index.js';
import { parseLabelRuleText } from '../auth/labels.js';
import { parseUserRecord, formatUserRecord, type UserRecord } from '../auth/records.js';

const HELP = `Usage: media-gateway users --config <server-config.json> <action> [options]

Actions:
  add <name> [--password P] [--labels RULE] [--force]   create a user (--force replaces an existing one)
  passwd <name> [--password P]                         set a new password, keeping the labels
  rm <name>                                            delete a user
  list                                                 list user names
  show <name>                                          print a user's record (hash parameters only)
  With --cert the same actions manage certificate identity records (no password; add takes --labels).

Options:
  --config FILE      server configuration with auth.basic.etcd (urls, tls, credentials, path, data_format)
  --password P       the password; without it you are prompted (no echo), or it is read from stdin when
                     stdin is not a terminal (first line)
  --labels RULE      allowed_routing_labels as JSON or YAML, e.g. '{"set": "camera"}' or '!and [!set a, !set b]'
  --cert             act on certificate identity records (<certificate_identity.path> or <etcd.path>/certificates/)
  -h, --help         this text
`;

/** Argon2id with the RFC 9106 second recommended option (64 MiB, 3 passes, 4 lanes). */
export const HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 65536,
  timeCost: 3,
  parallelism: 4,
} as const;

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

async function readPassword(io: CliIo): Promise<string> {
  if (io.stdin.isTTY) {
    // echo suppressed: readline writes to a stream that drops what the user types
    let muted = false;
    const out = new Writable({
      write: (chunk, _enc, cb) => {
        if (!muted) io.stderr.write(chunk);
        cb();
      },
    });
    const rl = createInterface({ input: io.stdin, output: out, terminal: true });
    const answer = await new Promise<string>((resolve) => {
      rl.question('Password: ', resolve);
      muted = true;
    });
    rl.close();
    io.stderr.write('\n');
    return answer;
  }
  let text = '';
  for await (const chunk of io.stdin) text += chunk.toString();
  return text.split(/\r?\n/)[0];
}

function describeHash(hash: string | undefined): string | undefined {
  if (hash === undefined) return undefined;
  const m = /^\$(argon2(?:id|i|d))\$(?:v=\d+\$)?([a-z]=\d+(?:,[a-z]=\d+)*)\$/.exec(hash);
  return m ? `${m[1]} (${m[2]})` : 'unrecognised hash';
}

export async function runUsers(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        password: { type: 'string' },
        labels: { type: 'string' },
        cert: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.stderr.write(usageLine('media-gateway users', parseArgsMessage(err)));
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [action, name, ...extra] = positionals;
  let client: Etcd3 | undefined;
  let etcd: EtcdConfig | undefined;
  try {
    if (!values.config) throw new UsageError('--config <server-config> is required');
    if (!action) throw new UsageError('an action is required (add, passwd, rm, list, show)');
    const needsName = action !== 'list';
    if (needsName && !name) throw new UsageError(`${action} needs a name`);
    if (extra.length || (!needsName && name))
      throw new UsageError(`unexpected arguments: ${[name, ...extra].filter(Boolean).join(' ')}`);
    if (name !== undefined && (name.includes(':') || name === ''))
      throw new UsageError('a user name must not be empty or contain ":" (Basic auth splits there)');

    const { config } = await loadServerConfig(values.config);
    const basic = config.auth?.basic;
    if (!basic) throw new UsageError(`${values.config}: no auth.basic section, so no etcd settings`);
    const prefix = values.cert ? certPrefix(config) : etcdPrefix(basic.etcd.path);
    const format = basic.etcd.dataFormat;
    const key = (n: string) => prefix + n;
    etcd = basic.etcd;
    client = await createEtcdClient(basic.etcd);
    const read = async (n: string): Promise<UserRecord | undefined> => {
      const v = await client!.get(key(n)).buffer();
      return v === null ? undefined : parseUserRecord(v, format, key(n));
    };

    switch (action) {
      case 'add': {
        if (!values.force && (await client.get(key(name)).buffer()) !== null) {
          throw new UsageError(`${key(name)} exists already (use passwd, or add --force to replace it)`);
        }
        const record: UserRecord = {};
        if (!values.cert)
          record.password_hash = await argon2.hash(values.password ?? (await readPassword(io)), HASH_OPTIONS);
        if (values.labels !== undefined)
          record.allowed_routing_labels = parseLabelRuleText(values.labels, '--labels');
        await client.put(key(name)).value(formatUserRecord(record, format));
        io.stdout.write(`added ${key(name)}\n`);
        return 0;
      }
      case 'passwd': {
        if (values.cert) throw new UsageError('certificate identity records have no password');
        const record = await read(name);
        if (!record) throw new UsageError(`no such user: ${key(name)}`);
        record.password_hash = await argon2.hash(values.password ?? (await readPassword(io)), HASH_OPTIONS);
        await client.put(key(name)).value(formatUserRecord(record, format));
        io.stdout.write(`password changed for ${key(name)}\n`);
        return 0;
      }
      case 'rm': {
        const res = await client.delete().key(key(name)).exec();
        if (Number(res.deleted) === 0) throw new UsageError(`no such user: ${key(name)}`);
        io.stdout.write(`removed ${key(name)}\n`);
        return 0;
      }
      case 'list': {
        const keys = await client.getAll().prefix(prefix).keys();
        // identity records under the user prefix are not users
        const certs = values.cert ? undefined : certPrefix(config);
        for (const k of keys.sort())
          if (!certs || !k.startsWith(certs)) io.stdout.write(k.slice(prefix.length) + '\n');
        return 0;
      }
      case 'show': {
        const record = await read(name);
        if (!record) throw new UsageError(`no such user: ${key(name)}`);
        const shown = {
          key: key(name),
          password_hash: describeHash(record.password_hash),
          allowed_routing_labels: record.allowed_routing_labels,
        };
        io.stdout.write(JSON.stringify(shown, null, 2) + '\n');
        return 0;
      }
      default:
        throw new UsageError(`unknown action '${action}'`);
    }
  } catch (err) {
    const message =
      client && etcd && !(err instanceof UsageError)
        ? describeEtcdFailure(err, etcd)
        : (err as Error).message;
    io.stderr.write(failureLine('media-gateway users', message));
    return err instanceof UsageError ? 2 : 1;
  } finally {
    client?.close();
  }
}

function certPrefix(config: ServerConfig): string {
  const basic = config.auth!.basic!;
  return certificateIdentityPrefix(basic, config.auth?.certificateIdentity ?? { from: 'cn', required: true });
}

export async function run(argv: string[]): Promise<number> {
  return runUsers(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
