// Reading a configuration file from disk, with a ConfigError (not a raw errno) when that fails.
import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';

export async function readConfigFile(file: string): Promise<string> {
  try {
    // editors on Windows like to start files with a BOM, which JSON does not allow
    return (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code ?? err);
    throw new ConfigError({ file }, `cannot read the configuration file (${reason})`);
  }
}
