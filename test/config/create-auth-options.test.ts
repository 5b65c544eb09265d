import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ConfigError } from '../../packages/tessera-auth/src/base/errors.js';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';

const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
const store = createMemoryStore();

/** createAuth as a JavaScript caller (or a JSON config) would call it: no compiler in the way. */
const create = (options?: unknown) => createAuth(options as Parameters<typeof createAuth>[0]);

const refused: [string, unknown, RegExp][] = [
  ['no options', undefined, /^createAuth needs options: createAuth\(\{ strategy: 'stateful', store: createMemoryStore\(\) \}\)/],
  [
    'a strategy misspelt',
    { strategy: 'stateles', store },
    /^strategy must be "stateful", "stateless" or "hybrid" \(got the string "stateles"\): did you mean "stateless"\?/,
  ],
  ['no store', { strategy: 'stateful' }, /^store is required: a store: createMemoryStore\(\)/],
  [
    'a URL where the store goes',
    { strategy: 'stateful', store: 'redis://127.0.0.1:6379' },
    /^store must be a store: .*createRedisStore\(\{ url \}\).* \(got the string "redis:\/\/127\.0\.0\.1:6379"\)/,
  ],
  [
    'an unknown top-level option',
    { strategy: 'stateful', store, sessions: { idleTimeout: 60 } },
    /^Unknown option sessions: did you mean session\?/,
  ],
  [
    'an option misspelt, nested',
    { strategy: 'stateful', store, session: { idleTimeOut: 60 } },
    /^Unknown option session\.idleTimeOut: did you mean session\.idleTimeout\?/,
  ],
  [
    'a string where keys go',
    { strategy: 'stateless', store, tokens: { keys: 'supersecret', issuer: 'https://id.example' } },
    /^tokens\.keys must be a key ring: openKeyDirectory\(dir, .*\(got the string "supersecret"\)/,
  ],
  [
    'a number as a string',
    { strategy: 'hybrid', store, tokens: { keys, issuer: 'https://id.example', accessTtl: '900' } },
    /^tokens\.accessTtl must be a number \(got the string "900"\)/,
  ],
  [
    'a cache option misspelt',
    { strategy: 'stateful', store, session: { cache: { maxStalenes: 5 } } },
    /^Unknown option session\.cache\.maxStalenes: did you mean session\.cache\.maxStaleness\?/,
  ],
  [
    'a DPoP option misspelt',
    { strategy: 'stateless', store, tokens: { keys, issuer: 'https://id.example', dpop: { mod: 'required' } } },
    /^Unknown option tokens\.dpop\.mod: did you mean tokens\.dpop\.mode\?/,
  ],
  [
    'a hook that is no function',
    { strategy: 'stateful', store, onError: 'console' },
    /^onError must be a function \(got the string "console"\)/,
  ],
  [
    'nothing close',
    { strategy: 'stateful', store, frobnicate: true },
    /^Unknown option frobnicate\. Known here: strategy, store, cookie, session, tokens, refresh, csrf, clock, onError\.$/,
  ],
];

for (const [what, options, message] of refused) {
  it(`createAuth refuses ${what}, saying what to pass`, () => {
    assert.throws(
      () => create(options),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      },
    );
  });
}

it('createAuth takes every option the docs show', () => {
  const auth = create({
    strategy: 'hybrid',
    store,
    cookie: { secure: false, name: 'sid' },
    session: { idleTimeout: 3600, absoluteTimeout: 86_400, touchInterval: 60, maxDataBytes: 4096, maxPerUser: 10, cache: undefined },
    tokens: {
      keys,
      issuer: 'https://id.example',
      audience: 'api',
      clientId: 'web',
      accessTtl: 300,
      leeway: 5,
      maxStaleness: 5,
      dpop: { mode: 'allowed' },
    },
    refresh: { graceSeconds: 10, cookiePath: '/' },
    csrf: { trustedOrigins: ['https://app.example'] },
    clock: { now: () => Date.now() },
    onError: () => {},
  });
  auth.close();
  create({ strategy: 'stateful', store, session: { cache: { maxEntries: 10, maxStaleness: 2 } } }).close();
});
