// Every code an operator can see is documented in docs/errors.md and spelled one way (snake_case): error
// codes, trust directory problems (`store doctor`, media_gateway_trust_problems), the `reason` label of TLS
// rejections, the refusal codes a client reads from the server, the reasons a client gives for a failed
// delivery (its log, /health and media_gateway_client_refusals_total) and the `reason` label of connections
// refused by the PROXY protocol gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, GatewayError } from '../../src/errors/index.js';
import { PROBLEM_CODES } from '../../src/trust/scan.js';
import { REJECT_REASONS } from '../../src/trust/verify.js';
import { CERTIFICATE_REFUSAL_CODES } from '../../src/tls/refusal-answer.js';
import { DELIVERY_FAILURE_REASONS } from '../../src/client/refusal.js';
import { PROXY_REFUSAL_REASONS } from '../../src/proxy-protocol/gate.js';
import { ConfigError } from '../../src/config/errors.js';
import { SpoolError } from '../../src/spool/spool.js';
import { STREAM_REFUSAL_CODES } from '../../src/server/stream.js';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const groups: Record<string, readonly string[]> = {
  'error codes': ERROR_CODES,
  'trust directory problems': PROBLEM_CODES,
  'TLS rejection reasons': REJECT_REASONS,
  'certificate refusal codes': CERTIFICATE_REFUSAL_CODES,
  'stream refusal codes': STREAM_REFUSAL_CODES,
  'client delivery failure reasons': DELIVERY_FAILURE_REASONS,
  'PROXY protocol refusal reasons': PROXY_REFUSAL_REASONS,
};

for (const [group, codes] of Object.entries(groups)) {
  test(`every one of the ${group} is documented in docs/errors.md`, () => {
    const missing = codes.filter((c) => !docs.includes(`\`${c}\``));
    assert.deepEqual(missing, [], `add these to docs/errors.md: ${missing.join(', ')}`);
  });

  test(`the ${group} are snake_case`, () => {
    const bad = codes.filter((c) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(c));
    assert.deepEqual(bad, []);
  });
}

test('an error carries its code and its class name', () => {
  const e = new SpoolError('spool_locked', 'spool directory /x is already open');
  assert.ok(e instanceof GatewayError);
  assert.equal(e.code, 'spool_locked');
  assert.equal(e.name, 'SpoolError');
  const c = new ConfigError({ code: 'config_unknown_key', path: '$.tsl' });
  assert.ok(c instanceof GatewayError);
  assert.equal(c.code, 'config_unknown_key');
  assert.equal(c.name, 'ConfigError');
});
