// Reads a file only if it is a regular file, without ever blocking on a FIFO or device node that
// someone dropped into a directory we scan (a plain read of a FIFO waits for a writer forever).
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';

/**
 * The file's bytes, 'not-regular' for FIFOs, sockets, devices and directories, or 'too-large' when it holds more
 * than `maxBytes` (then nothing is read). Throws on I/O errors.
 */
export async function readRegularFile(
  file: string,
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<Buffer | 'not-regular' | 'too-large'> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await fh.stat();
    if (!info.isFile()) return 'not-regular';
    if (info.size > maxBytes) return 'too-large';
    return await readAtMost(fh, maxBytes, chunkFor(info.size));
  } finally {
    await fh.close();
  }
}

const CHUNK = 1024 * 1024;
const PAGE = 4096;

/**
 * Read size: the stated size rounded up to whole pages (a small certificate costs one small buffer, not a
 * megabyte), or a full chunk when the size says nothing (0 for files in /proc).
 */
function chunkFor(statedSize: number): number {
  if (statedSize === 0) return CHUNK;
  return Math.min(CHUNK, Math.ceil((statedSize + 1) / PAGE) * PAGE);
}

/**
 * Reads to EOF but never more than `maxBytes`: the size in stat() is not a bound (files in /proc say 0 and
 * can be endless, e.g. a symlink to /proc/self/pagemap dropped into a trust directory).
 */
async function readAtMost(fh: FileHandle, maxBytes: number, chunk: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // whole pages (some /proc files only allow reads of aligned sizes): at most one chunk past the bound
    const buf = Buffer.allocUnsafe(chunk);
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > maxBytes) return 'too-large';
    chunks.push(buf.subarray(0, bytesRead));
  }
}
