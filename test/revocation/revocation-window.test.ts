import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createAuth, type Auth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { TesseraError } from '../../packages/tessera-auth/src/base/errors.js';
import { createIntrospection } from '../../packages/tessera-auth/src/core/introspection.js';
import { internalsOf } from '../../packages/tessera-auth/src/core/internals.js';
import type { AuthContext, Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { createAuthContext } from '../../packages/tessera-auth/src/http/context.js';
import { authorize } from '../../packages/tessera-auth/src/core/authorize.js';
import type { RequestFacts } from '../../packages/tessera-auth/src/http/request.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import { createSqliteStore } from '../../packages/tessera-auth/src/stores/sqlite.js';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { frozenClock, type FrozenClock } from '../helpers/clock.js';
import { useRedis, waitUntilUp, type RedisServer } from '../helpers/redis.js';

const TTL = 60;
const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
const sink = { appendSetCookie() {} };
const request = (token?: string): RequestFacts => ({
  method: 'POST',
  ip: '127.0.0.1',
  header: (name) => (name === 'authorization' && token !== undefined ? `Bearer ${token}` : undefined),
});
const contextOf = async (auth: Auth, token?: string): Promise<AuthContext> => createAuthContext(auth, request(token), sink);
let serial = 0;

/** What one instance does with a token now: `accepted`, or the error code it is refused with. */
async function outcome(auth: Auth, token: string): Promise<string> {
  try {
    authorize(await contextOf(auth, token));
    return 'accepted';
  } catch (error) {
    if (error instanceof TesseraError) return error.code;
    throw error;
  }
}

interface Login {
  readonly token: string;
  readonly exp: number;
  readonly sid: string;
  readonly userId: string;
  readonly refreshToken?: string | undefined;
}

async function logIn(auth: Auth, userId = `user-${++serial}`): Promise<Login> {
  const result = await (await contextOf(auth)).login({ id: userId, name: userId, roles: ['user'] }, { transport: 'body' });
  const token = result.accessToken!.token;
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
  return { token, exp, sid: result.session.id, userId, refreshToken: result.refreshToken };
}

/** Every way a token is revoked, each run at `at` seconds into the token's life. */
const KINDS: readonly {
  name: string;
  strategies?: readonly Strategy[];
  revoke(auth: Auth, login: Login, clock: FrozenClock): Promise<void>;
}[] = [
  { name: 'logout (sid)', revoke: async (auth, login) => (await contextOf(auth, login.token)).logout() },
  {
    name: 'a device revoked from the device list (sid)',
    revoke: async (auth, login) => {
      const other = await logIn(auth, login.userId);
      assert.equal(await (await contextOf(auth, other.token)).revokeSession(login.sid), true);
    },
  },
  { name: 'auth.endSession (sid)', revoke: async (auth, login) => void (await auth.endSession(login.sid)) },
  { name: 'auth.revokeUser (every session of the user)', revoke: async (auth, login) => void (await auth.revokeUser(login.userId)) },
  {
    name: 'logout everywhere but this device, from another device',
    revoke: async (auth, login) => {
      const other = await logIn(auth, login.userId);
      await (await contextOf(auth, other.token)).logoutAll({ keepCurrent: true });
    },
  },
  { name: 'RFC 7009 revocation of the token (jti)', revoke: (auth, login) => createIntrospection(auth).revoke(login.token) },
  {
    name: 'rotation: the old token (jti)',
    strategies: ['stateless'],
    revoke: async (auth, login) => void (await (await contextOf(auth, login.token)).rotate()),
  },
  {
    name: 'refresh handle reused after the grace window (sid)',
    strategies: ['hybrid'],
    revoke: async (auth, login, clock) => {
      await internalsOf(auth).hybrid!.refresh(login.refreshToken!);
      clock.advance(11_000);
      await assert.rejects(internalsOf(auth).hybrid!.refresh(login.refreshToken!), { code: 'refresh_token_reused' });
    },
  },
];

type OpenStore = (t: TestContext) => Promise<Store | undefined>;

/**
 * For every kind of revocation: the token is refused at every moment the verifier would otherwise
 * still accept it, `exp` up to `exp + leeway`, by the instance that revoked it (its list pruned),
 * by an instance started afterwards (the durable copy), and by a second instance following the
 * shared feed where there is one.
 */
function describeWindow(storeName: string, open: OpenStore, shared: boolean) {
  for (const strategy of ['stateless', 'hybrid'] as const) {
    for (const leeway of [undefined, 60]) {
      describe(`a revoked token stays dead until exp + leeway: ${strategy}, ${storeName}, leeway ${leeway ?? 'default (5)'} s`, () => {
        for (const kind of KINDS) {
          if (kind.strategies && !kind.strategies.includes(strategy)) continue;
          it(kind.name, async (t) => {
            const store = await open(t);
            if (!store) return;
            const clock = frozenClock(Date.now());
            const make = () =>
              createAuth({
                strategy,
                store,
                clock,
                tokens: { keys, issuer: 'https://id.test', accessTtl: TTL, ...(leeway !== undefined && { leeway }) },
              });
            const auth = make();
            const sibling = shared ? make() : undefined;
            const started: Auth[] = [];
            try {
              await auth.tokens!.ensureLoaded();
              await sibling?.tokens!.ensureLoaded();
              const login = await logIn(auth);
              assert.equal(await outcome(auth, login.token), 'accepted');
              clock.advance(20_000);
              await kind.revoke(auth, login, clock);
              if (sibling) await heard(sibling, login.token);

              const windowMs = (leeway ?? 5) * 1000;
              const expMs = login.exp * 1000;
              for (const at of [expMs - 1, expMs, expMs + windowMs / 2, expMs + windowMs - 1]) {
                clock.advance(at - clock.now());
                internalsOf(auth).tokens!.revocations.prune();
                const restarted = make();
                started.push(restarted);
                const instances: [Auth, string][] = [
                  [auth, 'the revoking instance'],
                  [restarted, 'an instance started now'],
                ];
                if (sibling) instances.push([sibling, 'the other instance']);
                for (const [instance, who] of instances) {
                  assert.equal(await outcome(instance, login.token), 'token_revoked', `${who}, ${at - expMs} ms after exp`);
                }
              }
              clock.advance(expMs + windowMs - clock.now());
              assert.equal(await outcome(auth, login.token), 'token_expired', 'past the leeway the verifier refuses it by itself');
            } finally {
              for (const instance of [auth, ...(sibling ? [sibling] : []), ...started]) instance.close();
              await store.close();
            }
          });
        }
      });
    }
  }
}

/** Waits until the sibling instance refuses the token: it hears revocations from the feed. */
async function heard(sibling: Auth, token: string): Promise<void> {
  for (let i = 0; i < 200 && (await outcome(sibling, token)) !== 'token_revoked'; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

describeWindow('memory', async () => createMemoryStore(), false);
describeWindow('SQLite', async () => createSqliteStore({ path: ':memory:' }), false);

const redisServer = useRedis();
let databases = 0;
describeWindow(
  'Redis, two instances',
  async (t) => {
    const redis: RedisServer | undefined = redisServer(t);
    if (!redis) return undefined;
    const store = createRedisStore({ url: redis.url, prefix: `window${++databases}:` });
    await waitUntilUp(store);
    return store;
  },
  true,
);
