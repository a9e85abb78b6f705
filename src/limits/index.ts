// Bounded cost under hostile or unlucky clients: the per-address connection budget, header/body and
// handshake timeouts, the open-file limit, and the metrics that count what the limits refused.
export { addressKey } from './address.js';
export {
  answerClientErrors,
  applyConnectionBudget,
  closeNonHttp1,
  httpServerOptions,
} from './connection-budget.js';
export {
  connectionTimeoutsTotal,
  decodeLimitRefusalsTotal,
  verificationsInFlight,
  verificationsRefusedTotal,
} from './metrics.js';
