// File writes that never leave a half-written file behind: data goes to a temporary file in the
// same directory (same filesystem) and is then renamed or hard-linked into place.
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

async function writeTemp(target: string, data: string | Uint8Array, mode: number): Promise<string> {
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return tmp;
}

/** Atomically replaces (or creates) `target` with `data`. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const tmp = await writeTemp(target, data, opts.mode ?? 0o644);
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Atomically creates `target` only if it does not exist yet (hard link of a complete temp file,
 * which fails with EEXIST instead of clobbering a file another writer just created).
 * Returns false when the name is taken.
 */
export async function createFileExclusive(
  target: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<boolean> {
  const tmp = await writeTemp(target, data, opts.mode ?? 0o644);
  try {
    await link(tmp, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
