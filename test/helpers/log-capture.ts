// The process's own log lines, as written to stderr (env_logger text layout), captured for the rest of a test.
// The logger resolves process.stderr.write at every line, so wrapping it sees every line; the lines still
// reach the real stderr.
type T = { after(fn: () => unknown): void };

export interface LogCapture {
  /** captured lines so far */
  lines(): string[];
  /** captured lines matching `re` */
  matching(re: RegExp): string[];
}

export function captureLog(t: T): LogCapture {
  const original = process.stderr.write;
  const captured: string[] = [];
  process.stderr.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    captured.push(...String(chunk).split('\n').filter(Boolean));
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stderr.write;
  t.after(() => {
    process.stderr.write = original;
  });
  return {
    lines: () => [...captured],
    matching: (re) => captured.filter((l) => re.test(l)),
  };
}
