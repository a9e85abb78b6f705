// Reads a file only if it is a regular file, without ever blocking on a FIFO or device node that
// someone dropped into a directory we scan (a plain read of a FIFO waits for a writer forever).
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';

/** The file's bytes, or 'not-regular' for FIFOs, sockets, devices and directories. Throws on I/O errors. */
export async function readRegularFile(file: string): Promise<Buffer | 'not-regular'> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) return 'not-regular';
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
