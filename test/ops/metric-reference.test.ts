// docs/metrics.md against the live registries: both halves run with every optional part configured (mutual
// TLS, Basic auth with quarantine, a client spool), and the union of the media_gateway_* families their /metrics export must
// equal the families documented in the reference table, each with its documented type. A failure names the
// family and the file to fix, so a family added on any branch without documentation is caught at merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/net.js';
import { request } from '../server/fixtures.js';
import { documentedFamilies, exportedFamilies } from './families.js';
import { startHalves } from './halves.js';

test('docs/metrics.md documents exactly the families both halves export, with their types', async (t) => {
  const secs = (s: number) => ({ secs: s, nanos: 0 });
  const h = await startHalves(t, {
    ready: false, // the etcd below is never reached: only the families matter here
    client: (dir) => ({ spool: { dir: `${dir}/spool` } }),
    server: {
      auth: {
        basic: {
          etcd: {
            urls: [`http://127.0.0.1:${await freePort()}`],
            path: '/users',
            data_format: 'json',
            lease_timeout: secs(10),
            connect_timeout: secs(1),
            cache: { size: 10 },
          },
          cache: { size: 10 },
          quarantine: { period: secs(60), failed_attempt_limit: 3 },
        },
      },
    },
  });
  const live = new Map<string, string>();
  for (const ops of [h.serverOps, h.clientOps]) {
    const res = await request(`http://${ops}/metrics`);
    assert.equal(res.status, 200);
    for (const [name, type] of exportedFamilies(res.body.toString()))
      if (name.startsWith('media_gateway_')) live.set(name, type);
  }
  const documented = await documentedFamilies();
  const undocumented = [...live.keys()].filter((n) => !documented.has(n));
  const gone = [...documented.keys()].filter((n) => !live.has(n));
  assert.deepEqual(
    undocumented,
    [],
    `exported but missing from the table in docs/metrics.md (add a row for each): ${undocumented.join(', ')}`,
  );
  assert.deepEqual(
    gone,
    [],
    `documented in docs/metrics.md but exported by neither half (remove the row, or check its "exported by"): ${gone.join(', ')}`,
  );
  for (const [name, type] of live)
    assert.equal(documented.get(name), type, `docs/metrics.md gives ${name} the wrong type`);
});
