// Environment substitution over raw configuration text: the original's shellexpand rules, as README.md
// states them under "Configuration reference".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substituteEnv } from '../../src/config/env.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseServerConfig } from '../../src/config/server.js';

const env = { HOST: 'example.org', PORT: '9000', EMPTY: '', ÄRGER: 'umlaut', under_score1: 'u' };

test('$NAME and ${NAME} are replaced', () => {
  assert.equal(substituteEnv('http://$HOST:${PORT}/', env), 'http://example.org:9000/');
  assert.equal(substituteEnv('$under_score1', env), 'u');
});

test('a name is a run of Unicode alphanumerics and _ and stops at anything else', () => {
  assert.equal(substituteEnv('$ÄRGER-x', env), 'umlaut-x');
  assert.equal(substituteEnv('$HOST.com', env), 'example.org.com');
  assert.equal(substituteEnv('"$PORT"', env), '"9000"');
});

test('${NAME:-default} uses the default when unset, and the default runs to the first }', () => {
  assert.equal(substituteEnv('${MISSING:-http://localhost:8080}', env), 'http://localhost:8080');
  assert.equal(substituteEnv('${HOST:-other}', env), 'example.org');
  assert.equal(substituteEnv('${MISSING:-a{b}c}', env), 'a{bc}');
  assert.equal(substituteEnv('${MISSING:-}', env), '');
});

test('a variable set to the empty string gives the empty string, even with a default (shellexpand, not sh)', () => {
  assert.equal(substituteEnv('[$EMPTY][${EMPTY}][${EMPTY:-fallback}]', env), '[][][]');
});

test('$$ is a literal $, other $ stay literal, ${ without } stays literal', () => {
  assert.equal(substituteEnv('pa$$word', env), 'pa$word');
  assert.equal(substituteEnv('$$HOST', env), '$HOST');
  assert.equal(substituteEnv('cost: 5 $ - $.', env), 'cost: 5 $ - $.');
  assert.equal(substituteEnv('end $', env), 'end $');
  assert.equal(substituteEnv('open ${HOST', env), 'open ${HOST');
  assert.equal(substituteEnv('no dollars at all', env), 'no dollars at all');
});

test('an unset variable without a default is an error naming the variable, the file and the line', () => {
  for (const text of ['{\n  "url": "$NOPE"\n}', '{\n  "url": "${NOPE}"\n}']) {
    assert.throws(
      () => substituteEnv(text, env, 'client.json'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.file, 'client.json');
        assert.equal(err.line, 2);
        assert.equal(err.column, 11);
        assert.match(err.message, /^client\.json:2:11: environment variable NOPE is not set/);
        return true;
      },
    );
  }
});

test('substitution is textual: an unquoted number can come from the environment', () => {
  const text = `{
    "ip": "\${IP:-127.0.0.1}", "port": \${PORT:-8080},
    "out_stream": { "url": "pub+bind:tcp://127.0.0.1:\${ZMQ_PORT}", "send_timeout": [1, 0], "send_retries": 3,
      "receive_timeout": [1, 0], "receive_retries": 3, "send_hwm": 1000, "receive_hwm": 1000 }
  }`;
  const { config } = parseServerConfig(text, { env: { PORT: '9100', ZMQ_PORT: '5555' } });
  assert.equal(config.ip, '127.0.0.1');
  assert.equal(config.port, 9100);
  assert.equal(config.outStream.url, 'pub+bind:tcp://127.0.0.1:5555');
  assert.throws(() => parseServerConfig(text, { env: {} }), /environment variable ZMQ_PORT is not set/);
});
