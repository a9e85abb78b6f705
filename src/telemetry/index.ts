// OpenTelemetry tracing of both halves. Loading any of it loads the OpenTelemetry SDK, which is why
// src/server/gateway.ts and src/client/pipeline.ts import ./server.ts and ./client.ts lazily (only when a
// telemetry section is configured) and take nothing but types from here.
export { type ClientTracing, startClientTracing } from './client.js';
export { type ServerTracing, startServerTracing } from './server.js';
