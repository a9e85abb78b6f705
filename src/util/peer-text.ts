// Text a peer chose (certificate names, a server's answer body) made safe to put in a log line: control
// characters (C0, DEL, C1, and the Unicode line/paragraph separators) become \xNN / \uNNNN escapes, so a
// hostile value cannot forge log lines or send terminal escape sequences, and long values are cut.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function peerText(value: string, maxLength = 256): string {
  const cut = value.length > maxLength ? `${value.slice(0, maxLength)}…` : value;
  return cut.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
