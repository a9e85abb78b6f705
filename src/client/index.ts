// The client (edge half): reads Savant messages from ZeroMQ, sends them to the gateway over HTTP(S) in
// batches (./sender.ts), retries with backoff (./retry.ts), tells refusals from transport failures
// (./refusal.ts) and keeps what the server can never accept in a dead-letter directory (./dead-letter.ts).
export { type PostOutcome, errorCode } from './http.js';
export { type RunningClient, startClient } from './pipeline.js';
export type { Completion, Outgoing, Sender, SenderOptions } from './sender.js';
