// Reads a file only if it is a regular file, without ever blocking on a FIFO or device node that
// someone dropped into a directory we scan (a plain read of a FIFO waits for a writer forever).
import { open } from 'node:fs/promises';
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
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
