// The operations side: the optional separate listener for /health, /livez, /readyz, /version and /metrics, the
// metric families each half exports, and the server's readiness and liveness judgements.
// ./build-info.ts loads zeromq and is imported lazily by src/cli/main.ts, so it is not re-exported here.
export { clientFamilies, exportHalfFamilies, serverFamilies } from './families.js';
export { type OpsListener, startOpsListener } from './listener.js';
export { serverNotLive, serverNotReady } from './server-probes.js';
