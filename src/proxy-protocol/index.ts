// PROXY protocol v1/v2 behind a load balancer: the header parser, the trusted-network list, and the gate
// that holds each connection until its header is read so every later check sees the client's address.
export { installProxyGate } from './gate.js';
export { DEFAULT_MAX_HEADER_BYTES, MIN_HEADER_BYTES } from './header.js';
export { networkProblem, trustedNetworks } from './networks.js';
