// The JSON configuration files the benchmark hands to the gateway halves: the original Media
// Gateway format plus our extensions (max_body_size, transport, ack, TLS peers), exactly what an
// operator would write, so the runs go through the real config loader.
import type { DemoPki } from '../pki/index.js';

/** The HTTP transport between the halves. */
export type Transport = 'http' | 'https' | 'mtls';

/** Per-buffer byte budget: queues are sized in messages, so large frames get short queues (as an operator would). */
const QUEUE_BUDGET_BYTES = 16 * 1024 * 1024;

/** ZeroMQ high-water marks and the client's reader→sender queue, in messages, for a frame size. */
export function queueLength(frameBytes: number): number {
  return Math.max(16, Math.min(1000, Math.floor(QUEUE_BUDGET_BYTES / frameBytes)));
}

const secs = (s: number): { secs: number; nanos: number } => ({ secs: s, nanos: 0 });

export function serverConfig(opts: {
  port: number;
  sinkUrl: string;
  frameBytes: number;
  transport: Transport;
  pki?: DemoPki;
}): object {
  const hwm = queueLength(opts.frameBytes);
  const cfg: Record<string, unknown> = {
    ip: '127.0.0.1',
    port: opts.port,
    max_body_size: 64 * 1024 * 1024,
    out_stream: {
      url: `dealer+connect:${opts.sinkUrl}`,
      send_timeout: secs(5),
      send_retries: 3,
      receive_timeout: secs(5),
      receive_retries: 3,
      send_hwm: hwm,
      receive_hwm: hwm,
    },
  };
  if (opts.transport !== 'http') {
    const pki = requirePki(opts.pki);
    cfg.tls = {
      identity: { certificate: pki.serverCert, key: pki.serverKey },
      ...(opts.transport === 'mtls'
        ? { peers: { lookup_hash_directory: pki.hashDir, crl_enabled: true } }
        : {}),
    };
  }
  return cfg;
}

export interface ClientTransportSettings {
  mode: 'auto' | 'single' | 'batch';
  lanes: number;
  /** false: batches by POST /batch, never over the upgraded stream (`mtls-batch`) */
  stream?: boolean;
}

export function clientConfig(opts: {
  port: number;
  serverPort: number;
  sourceUrl: string;
  frameBytes: number;
  transport: Transport;
  settings: ClientTransportSettings;
  deadLetterDir: string;
  pki?: DemoPki;
  /** a client spool (docs/spool.md) in this directory with this sync setting */
  spool?: { dir: string; sync: 'always' | 'periodic' | 'never'; maxBytes?: number };
}): object {
  const hwm = queueLength(opts.frameBytes);
  const cfg: Record<string, unknown> = {
    ip: '127.0.0.1',
    port: opts.port,
    url: `${opts.transport === 'http' ? 'http' : 'https'}://127.0.0.1:${opts.serverPort}`,
    in_stream: {
      url: `router+bind:${opts.sourceUrl}`,
      receive_timeout: secs(1),
      receive_hwm: hwm,
      topic_prefix_spec: { none: null },
      source_cache_size: 1000,
      inflight_ops: hwm,
      ack: 'on_read',
    },
    transport: {
      mode: opts.settings.mode,
      lanes: opts.settings.lanes,
      max_batch_messages: 256,
      max_batch_bytes: 8 * 1024 * 1024,
      ...(opts.settings.stream === false ? { stream: false } : {}),
    },
    dead_letter_dir: opts.deadLetterDir,
  };
  if (opts.spool) {
    cfg.spool = {
      dir: opts.spool.dir,
      sync: opts.spool.sync,
      max_bytes: opts.spool.maxBytes ?? 4 * 1024 * 1024 * 1024,
    };
  }
  if (opts.transport !== 'http') {
    const pki = requirePki(opts.pki);
    cfg.tls = {
      root_certificate: pki.caCert,
      ...(opts.transport === 'mtls' ? { identity: { certificate: pki.clientCert, key: pki.clientKey } } : {}),
    };
  }
  return cfg;
}

function requirePki(pki: DemoPki | undefined): DemoPki {
  if (!pki) throw new Error('TLS transport needs the benchmark PKI');
  return pki;
}
