import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { TesseraError } from '../../packages/tessera-auth/src/base/errors.js';
import type { AuthContext, Identity } from '../../packages/tessera-auth/src/base/types.js';
import { createAuth, type Auth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { internalsOf } from '../../packages/tessera-auth/src/core/internals.js';
import { createAuthContext } from '../../packages/tessera-auth/src/http/context.js';
import type { RequestFacts } from '../../packages/tessera-auth/src/http/request.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { createSessionCache } from '../../packages/tessera-auth/src/sessions/session-cache.js';
import { commandsDuring, withoutBackgroundCommands, useRedis, waitUntilUp, type RedisServer } from '../helpers/redis.js';

/**
 * The stateful strategy's cached mode, across two instances sharing one real Redis: in steady
 * state a request reads nothing from the store, yet a session ended at one instance is refused at
 * the other once the feed delivers the end, a client's data write is read back at the other on its
 * next request, and a frozen store turns into 503 within the staleness bound.
 */
const user: Identity = { id: 'alice', name: 'alice', roles: ['user'] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A GET carrying the session cookie; what the response sets is collected in `cookies`. */
function exchange(cookie?: string) {
  const cookies: string[] = [];
  const request: RequestFacts = {
    method: 'GET',
    ip: '127.0.0.1',
    header: (name) => (name === 'cookie' && cookie !== undefined ? `tessera=${cookie}` : undefined),
  };
  return { request, cookies, sink: { appendSetCookie: (value: string) => void cookies.push(value) } };
}

async function contextAt(auth: Auth, cookie?: string): Promise<{ context: AuthContext; cookie: string | undefined }> {
  const { request, cookies, sink } = exchange(cookie);
  const context = await createAuthContext(auth, request, sink);
  return { context, cookie: cookieOf(cookies) ?? cookie };
}

const cookieOf = (setCookies: readonly string[]) => setCookies.map((value) => /^tessera=([^;]*)/.exec(value)?.[1]).findLast(Boolean);

/** Who instance `auth` says the cookie belongs to: a user id, null, or the error code (503). */
async function whoAt(auth: Auth, cookie: string): Promise<string | null> {
  try {
    return (await contextAt(auth, cookie)).context.user?.id ?? null;
  } catch (error) {
    if (error instanceof TesseraError) return error.code;
    throw error;
  }
}

/** Two instances of one application, each with its own connection to the shared Redis. */
async function twoInstances(t: TestContext, redis: RedisServer, options: { maxStaleness?: number; wrapB?: (store: Store) => Store } = {}) {
  const prefix = `cache-${Math.random().toString(36).slice(2)}:`;
  const open = (wrap: (store: Store) => Store = (store) => store) => {
    const store = createRedisStore({ url: redis.url, prefix });
    const auth = createAuth({
      strategy: 'stateful',
      store: wrap(store),
      cookie: { secure: false },
      session: { cache: { ...(options.maxStaleness !== undefined && { maxStaleness: options.maxStaleness }) } },
    });
    t.after(async () => {
      auth.close();
      await store.close();
    });
    return { auth, store };
  };
  const a = open();
  const b = open(options.wrapB);
  await waitUntilUp(a.store);
  await waitUntilUp(b.store);
  await a.auth.ready();
  await b.auth.ready();
  return { a: a.auth, b: b.auth };
}

async function logIn(auth: Auth): Promise<string> {
  const { request, cookies, sink } = exchange();
  await (await createAuthContext(auth, request, sink)).login(user);
  return cookieOf(cookies)!;
}

/** Waits until `check` holds, polling; returns how long it took. */
async function until(check: () => Promise<boolean>, limitMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    assert.ok(Date.now() - started < limitMs, `${what} within ${limitMs} ms`);
    await sleep(5);
  }
  return Date.now() - started;
}

describe('stateful strategy, cached sessions, two instances on one Redis', () => {
  const redisFor = useRedis();

  it('serves a session with no store command per request in steady state', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const { a, b } = await twoInstances(t, redis);
    const cookie = await logIn(a);
    assert.equal(await whoAt(b, cookie), 'alice'); // the first request at B reads the store
    const commands = await commandsDuring(redis, async () => {
      for (let i = 0; i < 200; i++) assert.equal(await whoAt(b, cookie), 'alice');
    });
    // The feed polls and acknowledges on its own schedule; nothing else may reach Redis.
    assert.deepEqual([...withoutBackgroundCommands(commands, 200)], [], '200 requests, no store command');
  });

  it('refuses at B a session ended at A, once the feed has delivered the end', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const { a, b } = await twoInstances(t, redis);
    const samples: number[] = [];
    for (let trial = 0; trial < 20; trial++) {
      const cookie = await logIn(a);
      assert.equal(await whoAt(b, cookie), 'alice');
      assert.equal(await whoAt(b, cookie), 'alice'); // now served from B's copy
      const { context } = await contextAt(a, cookie);
      await context.logout();
      samples.push(await until(async () => (await whoAt(b, cookie)) === null, 1_000, 'B refuses the ended session'));
      for (let i = 0; i < 5; i++) assert.equal(await whoAt(b, cookie), null, 'and keeps refusing it');
    }
    t.diagnostic(`B refused the session ${Math.max(...samples)} ms after the logout at A at worst (20 trials)`);
  });

  it('a copy read before an end but stored after it is never served (the race)', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    // B's store answers its next read only when the gate opens: the read is in flight while A ends the session.
    let gate: Promise<void> | undefined;
    const wrapB = (store: Store): Store => ({
      ...store,
      sessions: {
        ...store.sessions,
        async get(idHash) {
          const record = await store.sessions.get(idHash);
          await gate;
          return record;
        },
      },
    });
    const { a, b } = await twoInstances(t, redis, { wrapB });
    for (let trial = 0; trial < 10; trial++) {
      const cookie = await logIn(a);
      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      const inFlight = whoAt(b, cookie); // B reads the live record, then waits
      await sleep(5);
      const sid = (await contextAt(a, cookie)).context.session!.id;
      await a.endSession(sid);
      await until(async () => internalsOf(b).revocations!.isRevoked({ sid }), 1_000, 'B hears the end');
      open();
      gate = undefined;
      assert.equal(await inFlight, 'alice', 'the request that began before the end is answered as it began');
      assert.equal(await whoAt(b, cookie), null, 'the next request at B is refused, though its copy was stored after the end');
    }
  });

  it("reads a client's own data write back at the other instance on its next request", async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const { a, b } = await twoInstances(t, redis);
    for (let trial = 1; trial <= 10; trial++) {
      const cookie = await logIn(a);
      assert.equal(await whoAt(b, cookie), 'alice'); // B holds a copy of the data as it was
      const { request, cookies, sink } = exchange(cookie);
      await (await createAuthContext(a, request, sink)).updateData((data) => ({ ...data, cart: trial }));
      const written = cookieOf(cookies)!;
      assert.notEqual(written, cookie, 'the response carries the version it wrote');
      // What the version is for: without it, B serves its copy, the data before the write.
      assert.deepEqual((await contextAt(b, cookie)).context.session?.data, {}, "B's copy without the version is stale");
      assert.deepEqual((await contextAt(b, written)).context.session?.data, { cart: trial }, 'with it, read back at B on the next request');
    }
  });

  it('a frozen Redis: B serves its copies until the staleness bound, then 503, never a stale session', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const { a, b } = await twoInstances(t, redis, { maxStaleness: 1 });
    const cookie = await logIn(a);
    assert.equal(await whoAt(b, cookie), 'alice');
    await sleep(600); // let the feed answer a poll, so its last contact is recent
    const frozenAt = Date.now();
    redis.pause();
    try {
      const answers: { at: number; answer: string | null }[] = [];
      while (Date.now() - frozenAt < 4_000) {
        answers.push({ at: Date.now() - frozenAt, answer: await whoAt(b, cookie) });
        await sleep(20);
      }
      const lastServed = Math.max(0, ...answers.filter((x) => x.answer === 'alice').map((x) => x.at));
      const first503 = answers.find((x) => x.answer === 'store_unavailable')?.at;
      t.diagnostic(`served from the copy until ${lastServed} ms after the freeze; first 503 at ${first503} ms`);
      assert.ok(
        answers.every((x) => x.answer === 'alice' || x.answer === 'store_unavailable'),
        'only the session or 503',
      );
      assert.ok(lastServed <= 1_000 + 600, 'never served past the staleness bound (1 s) after the last contact');
      assert.ok(first503 !== undefined && first503 < 1_000 + 600 + 1_500, 'a 503 once the bound and a command timeout have passed');
    } finally {
      redis.resume();
    }
  });
});

describe('stateful strategy, cached sessions, one process', () => {
  it('a memory store needs no feed: an end is refused at once', async () => {
    const auth = createAuth({ strategy: 'stateful', store: createMemoryStore(), cookie: { secure: false }, session: { cache: true } });
    await auth.ready();
    const cookie = await logIn(auth);
    assert.equal(await whoAt(auth, cookie), 'alice');
    await auth.revokeUser('alice');
    assert.equal(await whoAt(auth, cookie), null);
    auth.close();
  });

  it('holds at most maxEntries copies: the one cached longest ago goes first', async () => {
    const copies = createSessionCache(2);
    const auth = createAuth({ strategy: 'stateful', store: createMemoryStore(), cookie: { secure: false } });
    const records = await Promise.all(
      ['a', 'b', 'c'].map(async (id) => internalsOf(auth).sessions.create({ id, roles: [] }, { userAgent: '', ip: '' })),
    );
    for (const { record } of records) copies.set(record);
    assert.deepEqual(
      records.map(({ record }) => copies.get(record.idHash) !== undefined),
      [false, true, true],
    );
  });

  it('is refused for the token strategies', () => {
    const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
    const tokens = { keys, issuer: 'https://id.test' };
    assert.throws(
      () => createAuth({ strategy: 'hybrid', store: createMemoryStore(), tokens, session: { cache: true } }),
      /session\.cache is for the stateful/,
    );
  });
});
