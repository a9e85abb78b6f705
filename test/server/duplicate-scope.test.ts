// Who can make the server's duplicate filter (src/server/duplicates.ts) drop someone else's messages: a peer
// that learnt another client's instance id (a hostile server the client once talked to sees it in every
// request) posts junk under those names first. With Basic users the names are scoped per user; behind
// mutual TLS without users every verified certificate is its own scope. And a peer churning through fresh
// instance ids must not push the other clients' windows out of the bounded table.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ServerTlsConfig } from '../../src/config/types.js';
import { encodeMedia } from '../../src/savant/media.js';
import { buildMessage } from '../../src/savant/message.js';
import { DuplicateFilter, MAX_INSTANCES } from '../../src/server/duplicates.js';
import { formatMessageIds, MESSAGE_IDS_HEADER } from '../../src/spool/identity.js';
import { buildLabPki, type LabPki, type Leaf } from '../helpers/openssl-pki.js';
import { gatewayToRouter, nextMessage, post, PROTOBUF } from './fixtures.js';

const enc = new TextEncoder();
const VICTIM = 'ab'.repeat(16);

let lab: LabPki;
let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mg-dup-scope-'));
  lab = buildLabPki(path.join(base, 'lab'));
});
after(() => rmSync(base, { recursive: true, force: true }));

function mtls(): ServerTlsConfig {
  const dir = path.join(base, 'trust');
  mkdirSync(dir);
  writeFileSync(path.join(dir, `${lab.root.hash}.0`), lab.root.certPem);
  writeFileSync(path.join(dir, `${lab.inter.hash}.0`), lab.inter.certPem);
  return {
    certificate: lab.server.certFile,
    key: lab.server.keyFile,
    clientAuth: { directory: dir, crlEnabled: false, pollIntervalMs: 1000, crlExpiryWarningMs: 3_600_000 },
  };
}

const as = (who: Leaf) => ({ ca: lab.server.certPem, cert: who.chainPem, key: who.keyPem });

function media(text: string): Uint8Array {
  return encodeMedia({
    topic: enc.encode('cam'),
    message: buildMessage({ content: 'video_frame', sourceId: 'cam' }),
    data: [enc.encode(text)],
  });
}

test('mutual TLS without users: another verified client cannot suppress messages by naming them first', async (t) => {
  const { server, reader } = await gatewayToRouter(t, { tls: mtls() });
  const names = { ...PROTOBUF, [MESSAGE_IDS_HEADER]: formatMessageIds(VICTIM, [7]) };
  // the hostile client (another certificate of the same trust store) posts junk under the victim's name
  assert.equal((await post(server.url, media('junk'), names, as(lab.clients.rootIssued))).status, 200);
  assert.equal(Buffer.from((await nextMessage(reader)).data[0]).toString(), 'junk');
  // the victim's own message of that name must still reach the sink
  const arrival = nextMessage(reader);
  assert.equal((await post(server.url, media('real'), names, as(lab.clients.good))).status, 200);
  const got = await Promise.race([
    arrival.then((m) => Buffer.from(m.data[0]).toString()),
    new Promise<string>((resolve) => setTimeout(() => resolve('nothing within 3 s'), 3000).unref()),
  ]);
  assert.equal(got, 'real');
});

test('a peer churning through fresh instance ids does not evict other users’ windows', async () => {
  const filter = new DuplicateFilter();
  let forwards = 0;
  const ok = async () => (forwards++, 200);
  await filter.forward('alice', VICTIM, 1, ok);
  for (let i = 0; i < MAX_INSTANCES; i++)
    await filter.forward('mallory', i.toString(16).padStart(32, '0'), 1, ok);
  forwards = 0;
  await filter.forward('alice', VICTIM, 1, ok);
  assert.equal(forwards, 0, 'alice’s message sent again after a crash is still recognised');
});
