// Text a peer chose (certificate names, a server's answer body) made safe to keep in a log field or a health
// reason: cut to a bounded length, with control characters escaped by the logger's own rule
// (src/util/log.ts escapeControls), so a hostile value can neither forge lines nor grow without bound.
import { escapeControls } from './log.js';

export function peerText(value: string, maxLength = 256): string {
  return escapeControls(value.length > maxLength ? `${value.slice(0, maxLength)}…` : value);
}
