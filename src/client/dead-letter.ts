// The dead-letter directory: messages the server can never accept (400 malformed, 413 too large) are kept
// here instead of blocking their stream forever (the original's behaviour). One `.media` file per message
// holds the encoded Media body exactly as it was POSTed, so it can be inspected or re-sent by hand; a `.json`
// sidecar says which topic, which status and when.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DeadLetter {
  /** the encoded Media, as POSTed */
  media: Uint8Array;
  topic: Uint8Array;
  status: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeTopic(topic: Uint8Array): { topic?: string; topicBase64: string } {
  const topicBase64 = Buffer.from(topic).toString('base64');
  try {
    return { topic: utf8.decode(topic), topicBase64 };
  } catch {
    return { topicBase64 };
  }
}

export class DeadLetterDir {
  private seq = 0;

  constructor(readonly dir: string) {}

  /**
   * Writes the message and its sidecar; resolves with the `.media` path. Files appear under their final
   * names only once complete (written under a temporary name, then renamed). Throws on I/O errors: the
   * caller keeps the message and retries, so nothing is lost when the directory is not writable.
   */
  async write(entry: DeadLetter): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const now = Date.now();
    const base = path.join(this.dir, `${now}-${++this.seq}-${entry.status}`);
    const sidecar = {
      ...describeTopic(entry.topic),
      status: entry.status,
      time: new Date(now).toISOString(),
      bytes: entry.media.length,
    };
    await writeAtomically(`${base}.media`, entry.media);
    await writeAtomically(`${base}.json`, JSON.stringify(sidecar) + '\n');
    return `${base}.media`;
  }
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}
