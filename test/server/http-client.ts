// A raw HTTP client for the server tests: one request per connection, showing exactly what the server
// answered (status, headers, body), and able to stream a chunked body.
import http from 'node:http';
import https from 'node:https';

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
    /** for https URLs: the CA to trust and an optional client identity (PEM text) */
    tls?: { ca: string; cert?: string; key?: string };
  } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const common = { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false };
    const req = url.startsWith('https:')
      ? https.request(url, { ...common, ...opts.tls })
      : http.request(url, common);
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
  tls?: { ca: string; cert?: string; key?: string },
): Promise<HttpAnswer> {
  return request(url, { method: 'POST', headers, body, tls });
}
