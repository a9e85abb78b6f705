// The decode error of the Savant codecs (./message.ts, ./media.ts, ./field-scan.ts), in a module of its
// own so the budget scanner and the decoders can share it without importing each other.
import { GatewayError } from '../errors/index.js';
export class MessageDecodeError extends GatewayError {
  declare readonly code: 'message_undecodable' | 'decode_limit';
  constructor(message: string, code: 'message_undecodable' | 'decode_limit' = 'message_undecodable') {
    super(code, message);
  }
}
