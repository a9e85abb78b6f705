// The one judgement of a CA's CRLs (src/trust/crl-standing.ts), used by the scan, health and verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crlStanding } from '../../src/trust/crl-standing.js';
import type { CrlEntry } from '../../src/trust/snapshot.js';

const now = new Date('2030-01-10T00:00:00Z');
const crl = (file: string, thisUpdate: string, nextUpdate?: string): CrlEntry => ({
  file,
  pem: '',
  der: Buffer.alloc(0),
  issuerFingerprint: 'ca',
  issuer: 'CN=CA',
  thisUpdate: new Date(thisUpdate),
  ...(nextUpdate ? { nextUpdate: new Date(nextUpdate) } : {}),
  revoked: new Set(),
});

test('no CRL at all is missing', () => {
  assert.deepEqual(crlStanding([], now), { state: 'missing' });
});

test('a valid CRL beats a newer one that is not valid yet, and coverage ends at its nextUpdate', () => {
  const s = crlStanding([crl('a', '2030-01-01', '2030-02-01'), crl('b', '2030-01-20', '2030-03-01')], now);
  assert.equal(s.state, 'valid');
  assert.deepEqual(s.state === 'valid' && s.inForce.map((c) => c.file), ['a']);
  assert.deepEqual(s.state === 'valid' && s.until, new Date('2030-02-01'));
});

test('a CRL without nextUpdate never ends the coverage', () => {
  const s = crlStanding([crl('a', '2030-01-01')], now);
  assert.equal(s.state === 'valid' && s.until, undefined);
});

test('only future CRLs: not yet valid from the earliest thisUpdate', () => {
  const s = crlStanding([crl('a', '2030-01-20', '2030-02-01'), crl('b', '2030-01-15', '2030-02-01')], now);
  assert.equal(s.state, 'not_yet_valid');
  assert.deepEqual(s.state === 'not_yet_valid' && s.firstStart, new Date('2030-01-15'));
});

test('only expired CRLs: expired since the latest nextUpdate; CRLs tied on thisUpdate are all in force', () => {
  const s = crlStanding(
    [
      crl('a', '2029-12-01', '2030-01-01'),
      crl('b', '2029-12-01', '2030-01-05'),
      crl('c', '2029-11-01', '2029-12-01'),
    ],
    now,
  );
  assert.equal(s.state, 'expired');
  assert.deepEqual(s.state === 'expired' && s.lastEnd, new Date('2030-01-05'));
  assert.deepEqual(s.state === 'expired' && s.inForce.map((c) => c.file), ['a', 'b']);
});
