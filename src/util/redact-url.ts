// Server URLs for log lines: without any user:password part.

/** The URL without its user:password part (`<invalid url>` when it cannot be parsed). */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return '<invalid url>';
  }
}
