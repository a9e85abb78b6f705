// Minimal valid configuration files in the original's JSON format, for tests that write one and load or run it.

export const WRITER = {
  url: 'pub+bind:ipc:///tmp/mg-config-test/server',
  send_timeout: { secs: 1, nanos: 0 },
  send_retries: 3,
  receive_timeout: { secs: 1, nanos: 0 },
  receive_retries: 3,
  send_hwm: 1000,
  receive_hwm: 1000,
};

export const READER = {
  url: 'sub+bind:ipc:///tmp/mg-config-test/client',
  receive_timeout: { secs: 10, nanos: 0 },
  receive_hwm: 1000,
  topic_prefix_spec: { none: null },
  source_cache_size: 1000,
  inflight_ops: 100,
};

export function serverJson(
  extra: Record<string, unknown> = {},
  outStream: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    { ip: '127.0.0.1', port: 8080, ...extra, out_stream: { ...WRITER, ...outStream } },
    null,
    2,
  );
}

export function clientJson(
  extra: Record<string, unknown> = {},
  inStream: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    {
      ip: '127.0.0.1',
      port: 8081,
      url: 'http://127.0.0.1:8080',
      ...extra,
      in_stream: { ...READER, ...inStream },
    },
    null,
    2,
  );
}
