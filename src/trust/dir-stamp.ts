// A cheap fingerprint of a trust directory: every entry's name with the device, inode, size, mtime and
// ctime of what it points to (symlinks followed, as the scanner follows them), in nanoseconds. The
// polling fallback compares stamps and reads and parses the files only when the stamp moved: a write,
// rename, deletion, chmod or symlink swap always changes ctime or the inode, even when it keeps the size
// and mtime.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** The stamp of `dir`, or undefined when it cannot be taken (the caller then scans in full). */
export async function directoryStamp(dir: string): Promise<string | undefined> {
  try {
    const own = await stat(dir, { bigint: true });
    const names = (await readdir(dir)).sort();
    const entries = await Promise.all(
      names.map(async (name) => {
        try {
          const s = await stat(path.join(dir, name), { bigint: true });
          return `${name}:${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
        } catch (e) {
          return `${name}:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
        }
      }),
    );
    return `${own.dev}:${own.ino}:${own.mtimeNs}:${own.ctimeNs}\n${entries.join('\n')}`;
  } catch {
    return undefined;
  }
}
