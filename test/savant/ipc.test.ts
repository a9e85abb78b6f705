// ipc bind side effects (src/savant/ipc.ts) on real sockets in temp dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { prepareIpcBind, resolveIpcPermissions } from '../../src/savant/ipc.js';
import { parseSocketUrl } from '../../src/savant/url.js';
import { SavantReader } from '../../src/savant/reader.js';
import { SavantWriter } from '../../src/savant/writer.js';
import { openReader, openWriter, readerCfg, writerCfg } from './harness.js';

test('bind creates the parent directory and chmods the socket to 0o777 by default', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'a', 'b', 'c', 'socket');
  await openReader(t, readerCfg(`router+bind:ipc://${sock}`));
  const st = await stat(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o777);
});

test('configured permissions are applied (511 = 0o777, here 0o700)', async (t) => {
  const dir = await tempDir(t);
  const sock = path.join(dir, 'w');
  await openWriter(t, writerCfg(`pub+bind:ipc://${sock}`, { fixIpcPermissions: 0o700 }));
  assert.equal((await stat(sock)).mode & 0o777, 0o700);
});

test('permissions on a connect URL are a config error', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(
    SavantReader.open(readerCfg(`sub+connect:ipc://${dir}/x`, { fixIpcPermissions: 0o777 })),
    { name: 'IpcError', code: 'ipc_permissions' },
  );
  await assert.rejects(
    SavantWriter.open(writerCfg(`dealer+connect:ipc://${dir}/x`, { fixIpcPermissions: 0o777 })),
    { name: 'IpcError', code: 'ipc_permissions' },
  );
  assert.equal(resolveIpcPermissions(parseSocketUrl(`sub+connect:ipc://${dir}/x`, 'reader')), undefined);
  assert.equal(resolveIpcPermissions(parseSocketUrl('tcp://127.0.0.1:1', 'reader'), 0o700), undefined);
  assert.throws(() => resolveIpcPermissions(parseSocketUrl('ipc:///tmp/x', 'reader'), 0o10000), {
    code: 'ipc_permissions',
  });
});

test('a directory or an empty path cannot be bound', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'isdir'));
  await assert.rejects(SavantReader.open(readerCfg(`rep+bind:ipc://${dir}/isdir`)), {
    code: 'ipc_path_invalid',
  });
  await assert.rejects(prepareIpcBind('ipc://'), { code: 'ipc_path_invalid' });
});
