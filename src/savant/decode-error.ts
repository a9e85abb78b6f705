// The decode error of the Savant codecs (./message.ts, ./media.ts, ./field-scan.ts), in a module of its
// own so the budget scanner and the decoders can share it without importing each other.
export class MessageDecodeError extends Error {
  override name = 'MessageDecodeError';
}
