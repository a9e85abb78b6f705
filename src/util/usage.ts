// How every command reports a user error: one line, `media-gateway <command>: <what went wrong>`, and a
// non-zero exit; the help text is one `--help` away instead of being dumped after the message.

/** The line for a usage error of `prog` (e.g. `media-gateway server`), pointing at its --help. */
export function usageLine(prog: string, message: string): string {
  return `${prog}: ${message} (see '${prog} --help')\n`;
}

/**
 * node:util parseArgs' messages made short: "Unknown option '--x'. To specify a positional argument
 * starting with a '-', ..." becomes "unknown option '--x'".
 */
export function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split(/\.\s/, 1)[0].replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** An unexpected failure as one line: the message only (the stack stays out of an operator's terminal). */
export function failureLine(prog: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${prog}: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`;
}
