// Savant ZeroMQ socket URLs ("[type+mode:]endpoint[:source]", the grammar savant_core accepts; the cases are the table in test/savant/url.test.ts).
// The original parser is an unanchored regex search with several lenient quirks; we implement the strict
// grammar instead and reject everything else with an error that names the URL, so a typo never silently
// turns into a different socket.
import { GatewayError } from '../errors/index.js';

export type SocketType = 'pub' | 'sub' | 'req' | 'rep' | 'dealer' | 'router';

export interface SocketUrl {
  type: SocketType;
  bind: boolean;
  /** what libzmq gets: the URL without the options prefix and the `:source` suffix */
  endpoint: string;
  /** writer-only `:source` suffix; parsed for compatibility, unused (as in savant_core 0.3.5) */
  source?: string;
  /** false when the URL had no `type+mode:` prefix and the role's default applied */
  typeGiven: boolean;
}

export class SocketUrlError extends GatewayError {
  declare readonly code: 'socket_url_invalid';
  constructor(message: string) {
    super('socket_url_invalid', message);
  }
}

const READER_TYPES: readonly SocketType[] = ['sub', 'rep', 'router'];
const WRITER_TYPES: readonly SocketType[] = ['pub', 'req', 'dealer'];
const ALL_TYPES: readonly string[] = [...READER_TYPES, ...WRITER_TYPES];

// prefix: a lowercase word, '+', a lowercase word, ':' directly before the endpoint scheme
const PREFIX = /^([a-z]+)\+([a-z]+):(?=(?:ipc|tcp):)/;
const IPC = /^(ipc:\/\/[^:]+)(?::(.+))?$/s;
const TCP = /^(tcp:\/\/([^:]+):(\d+))(?::(.+))?$/s;

function fail(message: string): never {
  throw new SocketUrlError(message);
}

/** Parses a Savant socket URL for a reader or a writer; throws SocketUrlError on anything else. */
export function parseSocketUrl(url: string, role: 'reader' | 'writer'): SocketUrl {
  let rest = url;
  let type: SocketType;
  let bind: boolean;
  let typeGiven = false;

  const prefix = PREFIX.exec(url);
  if (prefix) {
    const [whole, t, mode] = prefix;
    if (!ALL_TYPES.includes(t) || (mode !== 'bind' && mode !== 'connect')) {
      fail(
        `Invalid socket options ${whole} in ZeroMQ socket URI ${url} (expected <type>+bind: or <type>+connect:)`,
      );
    }
    type = t as SocketType;
    bind = mode === 'bind';
    typeGiven = true;
    rest = url.slice(whole.length);
  } else {
    // savant_core builder defaults: reader = router + bind, writer = dealer + bind
    type = role === 'reader' ? 'router' : 'dealer';
    bind = true;
  }

  const allowed = role === 'reader' ? READER_TYPES : WRITER_TYPES;
  if (!allowed.includes(type)) {
    fail(`Invalid socket type for ${role}: ${type} (in ${url}; allowed: ${allowed.join(', ')})`);
  }

  let endpoint: string;
  let source: string | undefined;
  if (rest.startsWith('tcp://[') || /^tcp:\/\/[^/]*::/.test(rest)) {
    fail(`Invalid ZeroMQ socket URI ${url}: IPv6 addresses are not supported`);
  }
  const ipc = IPC.exec(rest);
  const tcp = ipc ? null : TCP.exec(rest);
  if (ipc) {
    endpoint = ipc[1];
    source = ipc[2];
  } else if (tcp) {
    const port = Number(tcp[3]);
    if (port > 65535) fail(`Invalid ZeroMQ socket URI ${url}: port ${tcp[3]} out of range`);
    endpoint = tcp[1];
    source = tcp[4];
  } else {
    fail(
      `Invalid ZeroMQ socket URI ${url} (expected [type+bind:|type+connect:]ipc://<path> or tcp://<host>:<port>)`,
    );
  }

  if (source !== undefined && (!typeGiven || role === 'reader')) {
    // same text as savant_core, which also refuses a source when no writer type is named explicitly
    fail(`Source specification is not allowed for reader sockets: ${url}`);
  }
  return source === undefined
    ? { type, bind, endpoint, typeGiven }
    : { type, bind, endpoint, source, typeGiven };
}

/** True for the socket types that read (sub, rep, router). */
export function isReaderType(type: SocketType): boolean {
  return READER_TYPES.includes(type);
}
