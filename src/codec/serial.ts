// Certificate serial numbers as text. Kept apart from ./x509.ts so that modules that only compare serials
// (src/tls/peer.ts, in the client too) do not load @peculiar/x509 and its ~200 modules.

/** Serial numbers compared as lowercase hex without leading zeros (Node prints upper case, padded). */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}
