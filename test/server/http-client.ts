// A raw HTTP client for the server tests: one request per connection, showing exactly what the server
// answered (status, headers, body), and able to stream a chunked body.
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a fresh connection; `body` as chunks is sent chunked (no Content-Length). */
export function request(
  url: string,
  opts: {
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: Uint8Array | Uint8Array[];
    agent?: http.Agent;
  } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: opts.agent ?? false,
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    // A server that refuses a body may close while we still write it; the answer is what counts.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    if (Array.isArray(opts.body)) {
      for (const chunk of opts.body) req.write(chunk);
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

export const PROTOBUF = { 'Content-Type': 'application/protobuf' };

export function post(
  url: string,
  body: Uint8Array,
  headers: http.OutgoingHttpHeaders = PROTOBUF,
): Promise<HttpAnswer> {
  return request(url, { method: 'POST', headers, body });
}
