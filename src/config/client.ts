// The client configuration (`media-gateway client <config.json>`): the original's GatewayClientConfiguration
// (its sample files are loaded by test/config/samples.test.ts) plus our extensions, normalised into ClientConfig.
import path from 'node:path';
import { readConfigFile } from './read.js';
import { parseDocument, withWarnings, type ParseOptions } from './document.js';
import {
  listenHost,
  arrayOf,
  duration,
  filePath,
  int,
  nonEmptyStr,
  oneOf,
  positive,
  prune,
  str,
  taggedEnum,
  u16,
  u32,
  bool,
  type Node,
  type ObjectReader,
} from './fields.js';
import { checkOpsAddress, fixIpcPermissions, opsListener, socketUrl, statistics } from './sections.js';
import { clientTls } from './tls.js';
import { telemetry } from './telemetry.js';
import type { ClientConfig, ReaderConfig, RetryConfig, SpoolConfig, TopicPrefixSpec } from './types.js';

export interface LoadedClientConfig {
  config: ClientConfig;
  warnings: string[];
}

const DEFAULT_RETRY: RetryConfig = { initialDelayMs: 1, maximumDelayMs: 1000, multiplier: 2 };
/**
 * `transport.request_timeout` by default. Above what a server legitimately takes to answer once it has the
 * request (its out_stream send_timeout + receive_timeout, 1 s + 1 s by default), far below undici's own 300 s, which kept a lane on a frozen server for five minutes.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const DEFAULT_TRANSPORT: ClientConfig['transport'] = {
  mode: 'auto',
  lanes: 4,
  maxBatchMessages: 256,
  maxBatchBytes: 8 * 1024 * 1024,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
};

export function parseClientConfig(text: string, opts: ParseOptions = {}): LoadedClientConfig {
  const root = parseDocument(text, opts);
  return withWarnings(root, () => readClient(root, opts));
}

function readClient(root: Node, opts: ParseOptions): LoadedClientConfig {
  const top = root.object();
  const ip = top.required('ip', listenHost);
  const port = top.required('port', u16);
  const { urls, urlNode } = serverUrls(top);
  const url = urls[0];
  const tls = clientTls(top);
  urls.forEach((u, i) => {
    if (tls && new URL(u).protocol === 'http:') {
      throw (urls.length > 1 || !top.has('url') ? urlNode.child(i) : urlNode).error(
        'TLS settings are given (tls/ssl) but the server URL is http://: use https:// (or remove the TLS settings)',
      );
    }
  });
  const config: ClientConfig = {
    source: opts.file,
    ip,
    port,
    url,
    ...(top.has('urls') ? { urls } : {}),
    inStream: top.required('in_stream', reader),
    retry: top.optional('retry_strategy', retryStrategy) ?? { ...DEFAULT_RETRY },
    waitStrategy: top.optional('wait_strategy', waitStrategy) ?? { kind: 'sleep', ms: 1 },
    tls,
    auth: top.optional('auth', clientAuth),
    statistics: top.optional('statistics', statistics),
    deadLetterDir: top.optional('dead_letter_dir', filePath) ?? path.resolve(root.ctx.baseDir, 'dead-letter'),
    shutdownTimeoutMs: top.optional('shutdown_timeout', duration()) ?? 10_000,
    transport: top.optional('transport', transport) ?? { ...DEFAULT_TRANSPORT },
    ops: opsListener(top),
    spool: top.optional('spool', spool),
    telemetry: top.optional('telemetry', telemetry),
  };
  top.done();
  if (config.inStream.ack === 'on_persist' && !config.spool) {
    throw top
      .child('in_stream')
      .child('ack')
      .error('"on_persist" acknowledges once a message is in the spool: configure a "spool" section');
  }
  checkOpsAddress(top, config);
  if (config.auth && !tls && urls.some((u) => new URL(u).protocol === 'http:')) {
    urlNode.warn('Basic auth credentials will be sent in clear text over http://');
  }
  return { config: prune(config), warnings: root.ctx.warnings };
}

export async function loadClientConfig(
  file: string,
  env?: NodeJS.ProcessEnv,
  opts: { allowUnknownKeys?: boolean } = {},
): Promise<LoadedClientConfig> {
  return parseClientConfig(await readConfigFile(file), { file, env, ...opts });
}

/**
 * `url` (the original's single server) or `urls` (several servers, src/client/servers.ts): exactly one of
 * them, a non-empty list without repeats.
 */
function serverUrls(top: ObjectReader): { urls: string[]; urlNode: Node } {
  const single = top.has('url');
  const several = top.has('urls');
  if (single && several)
    throw top.child('urls').error('give either "url" (one server) or "urls" (several), not both');
  if (!several) return { urls: [top.required('url', serverUrl)], urlNode: top.child('url') };
  const urlNode = top.child('urls');
  const urls = top.required('urls', arrayOf(serverUrl, { nonEmpty: true }));
  // compared as URLs: host case, a default port, a trailing '/' and IPv4 shorthands ("127.1") are the same
  // server, which failover would otherwise "move" a lane onto right after it failed
  const same = urls.map((u) => new URL(u).href);
  same.forEach((u, i) => {
    if (same.indexOf(u) !== i)
      throw urlNode.child(i).error(`repeats ${same.indexOf(u) === 0 ? 'the first' : 'an earlier'} URL`);
  });
  return { urls, urlNode };
}

const serverUrl = (n: Node): string => {
  const text = nonEmptyStr(n);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw n.mismatch('an http:// or https:// URL of the gateway server');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw n.mismatch('an http:// or https:// URL of the gateway server');
  }
  return text;
};

/** `in_stream`: every original field is required, as in the original. */
function reader(n: Node): ReaderConfig {
  const o = n.object();
  const { url, parsed } = o.required('url', socketUrl('reader'));
  const config: ReaderConfig = {
    url,
    receiveTimeoutMs: o.required('receive_timeout', duration({ minMs: 1 })),
    receiveHwm: o.required('receive_hwm', positive),
    topicPrefixSpec: o.required('topic_prefix_spec', topicPrefixSpec),
    sourceCacheSize: o.required('source_cache_size', positive),
    // 0 made the original panic (a zero-capacity channel)
    inflightOps: o.required('inflight_ops', positive),
    fixIpcPermissions: fixIpcPermissions(o, parsed),
    ack: o.optional('ack', oneOf('on_read', 'on_delivery', 'on_persist')) ?? 'on_read',
  };
  o.done();
  return config;
}

const topicPrefixSpec = taggedEnum<TopicPrefixSpec>({
  none: { unit: { kind: 'none' } },
  source_id: (n) => ({ kind: 'source_id', value: str(n) }),
  prefix: (n) => ({ kind: 'prefix', value: str(n) }),
});

function retryStrategy(n: Node): RetryConfig {
  const read = taggedEnum<RetryConfig>({
    exponential: (e) => {
      const o = e.object();
      const retry: RetryConfig = {
        // 0 would retry in a busy loop forever (0 × multiplier stays 0)
        initialDelayMs: o.required('initial_delay', duration({ minMs: 1 })),
        maximumDelayMs: o.required('maximum_delay', duration({ minMs: 1 })),
        multiplier: o.required('multiplier', u32),
      };
      o.done();
      if (retry.initialDelayMs > retry.maximumDelayMs) {
        throw e.error(
          `initial_delay (${retry.initialDelayMs} ms) must not be greater than maximum_delay (${retry.maximumDelayMs} ms)`,
        );
      }
      if (retry.multiplier < 2)
        throw o.child('multiplier').mismatch('an integer ≥ 2', 'multiplier must be at least 2');
      return retry;
    },
  });
  return read(n);
}

const waitStrategy = taggedEnum<ClientConfig['waitStrategy']>({
  yield: { unit: { kind: 'yield' } },
  sleep: (n) => ({ kind: 'sleep', ms: duration()(n) }),
});

function clientAuth(n: Node): NonNullable<ClientConfig['auth']> {
  const o = n.object();
  const basic = o.required('basic', (b) => {
    const bo = b.object();
    const usernameNode = bo.child('username');
    const credentials = {
      username: bo.required('username', str),
      password: bo.required('password', str, true),
    };
    bo.done();
    // RFC 7617: the user-id cannot contain a colon, the server would split the pair at it
    if (credentials.username.includes(':'))
      throw usernameNode.error('a Basic auth username must not contain ":"');
    return credentials;
  });
  o.done();
  return { basic };
}

/** Smallest spool: room for a few segments next to the end-of-stream reserve. */
const MIN_SPOOL_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SPOOL: Omit<SpoolConfig, 'dir'> = {
  maxBytes: 1024 * 1024 * 1024,
  whenFull: 'block',
  sync: 'periodic',
  syncIntervalMs: 1000,
  // four lanes' worth of full 8 MiB batches (the transport defaults); DEFAULT_MEMORY_BYTES in src/spool/
  memoryBytes: 32 * 1024 * 1024,
};
/** Smallest memory budget of a spool: a few medium messages. */
const MIN_SPOOL_MEMORY_BYTES = 1024 * 1024;

function spool(n: Node): SpoolConfig {
  const o = n.object();
  const config: SpoolConfig = {
    dir: o.required('dir', filePath),
    maxBytes: o.optional('max_bytes', int({ min: MIN_SPOOL_BYTES })) ?? DEFAULT_SPOOL.maxBytes,
    whenFull: o.optional('when_full', oneOf('block', 'drop_oldest', 'drop_newest')) ?? DEFAULT_SPOOL.whenFull,
    sync: o.optional('sync', oneOf('always', 'periodic', 'never')) ?? DEFAULT_SPOOL.sync,
    syncIntervalMs: o.optional('sync_interval', duration({ minMs: 10 })) ?? DEFAULT_SPOOL.syncIntervalMs,
    memoryBytes:
      o.optional('memory_bytes', int({ min: MIN_SPOOL_MEMORY_BYTES })) ?? DEFAULT_SPOOL.memoryBytes,
  };
  o.done();
  return config;
}

function transport(n: Node): ClientConfig['transport'] {
  const o = n.object();
  const config: ClientConfig['transport'] = {
    mode: o.optional('mode', oneOf('auto', 'single', 'batch')) ?? DEFAULT_TRANSPORT.mode,
    lanes: o.optional('lanes', int({ min: 1, max: 1024 })) ?? DEFAULT_TRANSPORT.lanes,
    maxBatchMessages: o.optional('max_batch_messages', positive) ?? DEFAULT_TRANSPORT.maxBatchMessages,
    maxBatchBytes: o.optional('max_batch_bytes', positive) ?? DEFAULT_TRANSPORT.maxBatchBytes,
    requestTimeoutMs:
      o.optional('request_timeout', duration({ minMs: 100 })) ?? DEFAULT_TRANSPORT.requestTimeoutMs,
    stream: o.optional('stream', bool),
  };
  o.done();
  return config;
}
