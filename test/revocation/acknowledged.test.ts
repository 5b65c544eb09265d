import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createAuth, type Auth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createIntrospection } from '../../packages/tessera-auth/src/core/introspection.js';
import { createAuthContext } from '../../packages/tessera-auth/src/http/context.js';
import { createPostgresStore } from '../../packages/tessera-auth/src/stores/postgres.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import { createSqliteStore } from '../../packages/tessera-auth/src/stores/sqlite.js';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { usePostgres } from '../helpers/postgres.js';
import { useRedis, waitUntilUp } from '../helpers/redis.js';

const ISSUER = 'https://id.test';
const TRIALS = 200;
const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);

type Strategy = 'stateless' | 'hybrid' | 'cached stateful';
interface Credential {
  readonly user: string;
  readonly session: string;
  readonly header: (name: string) => string | undefined;
  readonly token?: string;
}

/** Three instances of one deployment, each with its own connections to the shared store. */
async function deployment(strategy: Strategy, openStore: () => Store): Promise<Auth[]> {
  const instances = Array.from({ length: 3 }, () => {
    const store = openStore();
    return strategy === 'cached stateful'
      ? createAuth({ strategy: 'stateful', store, session: { cache: true }, cookie: { secure: false } })
      : createAuth({ strategy, store, tokens: { keys, issuer: ISSUER } });
  });
  await Promise.all(instances.map((auth) => waitUntilUp(auth.store)));
  await Promise.all(instances.map((auth) => auth.ready()));
  return instances;
}

let serial = 0;
async function login(auth: Auth): Promise<Credential> {
  const cookies: string[] = [];
  const context = await createAuthContext(
    auth,
    { method: 'POST', ip: '127.0.0.1', header: () => undefined },
    {
      appendSetCookie: (cookie) => void cookies.push(cookie),
    },
  );
  const user = `user-${++serial}`;
  const result = await context.login({ id: user, roles: ['user'] }, { transport: 'body' });
  const token = result.accessToken?.token;
  const cookie = cookies.find((set) => set.startsWith(`${auth.cookie.name}=`))?.split(';')[0];
  const header = (name: string) =>
    token ? (name === 'authorization' ? `Bearer ${token}` : undefined) : name === 'cookie' ? cookie : undefined;
  return { user, session: result.session.id, header, ...(token !== undefined && { token }) };
}

/** Whether the instance accepts the credential now: a request as it would arrive there. */
async function accepts(auth: Auth, credential: Credential): Promise<boolean> {
  try {
    const context = await createAuthContext(auth, { method: 'GET', ip: '127.0.0.1', header: credential.header }, { appendSetCookie() {} });
    return context.user !== null;
  } catch {
    return false; // 503: a copy it cannot trust
  }
}

const changes: Record<string, (auth: Auth, credential: Credential) => Promise<unknown>> = {
  logout: (auth, credential) => auth.endSession(credential.session),
  'logout everywhere (password or role change)': (auth, credential) => auth.revokeUser(credential.user),
  'RFC 7009 revocation': (auth, credential) => createIntrospection(auth).revoke(credential.token!),
};

/**
 * The change answered at A; the first request at B and C is made the moment the answer arrives.
 * Without acknowledgement, B and C still accept while the entry is on its way to them.
 */
async function trials(t: TestContext, strategy: Strategy, openStore: () => Store, change: string): Promise<void> {
  if (change === 'RFC 7009 revocation' && strategy === 'cached stateful') return;
  const [a, b, c] = await deployment(strategy, openStore);
  try {
    let accepted = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const credential = await login(a!);
      // Warm: B and C hold the session or have verified the token.
      assert.ok((await accepts(b!, credential)) && (await accepts(c!, credential)), 'accepted before the change');
      await changes[change]!(a!, credential);
      const after = await Promise.all([accepts(b!, credential), accepts(c!, credential)]);
      accepted += after.filter(Boolean).length;
    }
    t.diagnostic(`${strategy}, ${change}: ${accepted} of ${2 * TRIALS} first requests at B and C accepted`);
    assert.equal(accepted, 0);
  } finally {
    for (const auth of [a, b, c]) auth!.close();
    await Promise.all([a, b, c].map((auth) => auth!.store.close()));
  }
}

/** The change made right after every instance's feed connection was killed by the store server. */
async function afterFeedsKilled(t: TestContext, openStore: () => Store, killFeeds: () => void): Promise<void> {
  const [a, b, c] = await deployment('stateless', openStore);
  try {
    let accepted = 0;
    for (let trial = 0; trial < 20; trial++) {
      const credential = await login(a!);
      assert.ok((await accepts(b!, credential)) && (await accepts(c!, credential)));
      killFeeds();
      await a!.endSession(credential.session);
      accepted += (await Promise.all([accepts(b!, credential), accepts(c!, credential)])).filter(Boolean).length;
    }
    t.diagnostic(`${accepted} of 40 first requests accepted after the feeds were killed`);
    assert.equal(accepted, 0);
  } finally {
    for (const auth of [a, b, c]) auth!.close();
    await Promise.all([a, b, c].map((auth) => auth!.store.close()));
  }
}

/** A shared store for the enclosing suite: how to open a client of it, and how to cut every feed connection. */
interface Backend {
  open(): Store;
  /** Cuts every feed connection (none for SQLite). */
  killFeeds?(): void;
}

const BACKENDS: Record<string, () => (t: TestContext) => Backend | undefined> = {
  Redis() {
    const redisFor = useRedis();
    return (t) => {
      const redis = redisFor(t);
      return (
        redis && {
          open: () => createRedisStore({ url: redis.url }),
          killFeeds() {
            for (const line of redis.cli('CLIENT', 'LIST').split('\n')) {
              const id = / name=tessera:revocation-feed:/.test(line) ? /^id=(\d+)/.exec(line)?.[1] : undefined;
              if (id) redis.cli('CLIENT', 'KILL', 'ID', id);
            }
          },
        }
      );
    };
  },
  // Three processes' worth of connections to one SQLite file, as `tessera serve` instances on one data directory.
  SQLite() {
    let dir: string;
    before(() => void (dir = mkdtempSync(join(tmpdir(), 'tessera-acknowledged-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    return () => ({ open: () => createSqliteStore({ path: join(dir, 'tessera.db') }) });
  },
  PostgreSQL() {
    const postgresFor = usePostgres();
    return (t) => {
      const server = postgresFor(t);
      return (
        server && {
          open: () => createPostgresStore({ url: server.url }),
          killFeeds: () =>
            void server.sql(
              "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'tessera:revocation-feed:%'",
            ),
        }
      );
    };
  },
};

for (const [name, use] of Object.entries(BACKENDS)) {
  describe(`acknowledged revocation: when the answer arrives, no instance accepts (three instances on ${name})`, () => {
    const backendFor = use();
    for (const strategy of ['cached stateful', 'stateless', 'hybrid'] as const) {
      for (const change of Object.keys(changes)) {
        it(`${strategy}: ${change}`, async (t) => {
          const backend = backendFor(t);
          if (backend) await trials(t, strategy, backend.open, change);
        });
      }
    }

    // SQLite has no connection to cut: the file is the feed.
    if (name !== 'SQLite')
      it('fault: every feed connection cut by the store server (CLIENT KILL, pg_terminate_backend) just before the change', async (t) => {
        const backend = backendFor(t);
        if (backend) await afterFeedsKilled(t, backend.open, backend.killFeeds!);
      });
  });
}
