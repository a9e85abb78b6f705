// The gateway's own version, read once from package.json (the file npm publishes it from), so that
// `--version`, GET /version and the build_info metric can never disagree.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** package.json's `version`; both src/util/ (tsx) and dist/util/ sit two levels below the package root. */
export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cached;
}
