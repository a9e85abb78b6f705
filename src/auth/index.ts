// Who a client is and what it may send: HTTP Basic users and certificate identities looked up in etcd,
// their routing-label rules (./labels.ts), the user records `media-gateway users` writes (./records.ts),
// and the quarantine and verification limits in front of argon2 (./authenticator.ts).
// Importing this index loads etcd3 and argon2; src/server/gateway.ts loads ./authenticator.ts lazily
// (only when auth is configured) and so imports only types from here.
export { type AuthDecision, Authenticator, certificateIdentityPrefix } from './authenticator.js';
export { createEtcdClient, describeEtcdFailure, etcdPrefix } from './etcd-client.js';
export { parseLabelRuleText } from './labels.js';
export { type UserRecord, formatUserRecord, parseUserRecord } from './records.js';
