// The gateway server (cloud half): HTTP(S) in, Savant ZeroMQ out (./gateway.ts), forwarding with
// routing-label checks (./forward.ts) and the duplicate filter for spooling clients (./duplicates.ts).
// src/cli/server.ts loads ./gateway.ts lazily so `--help` and config errors stay fast.
export type { ForwardResult, Grant, ItemTrace } from './forward.js';
export { type RunningServer, startServer } from './gateway.js';
