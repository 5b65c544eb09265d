/**
 * `tessera-auth/testing`: the conformance suites Tessera's own stores pass, for a store you write
 * for another database. They run on `node:test`: call them from a test file and run it with
 * `node --test`.
 *
 *   describeStoreConformance('mine', async () => createMyStore());        // the library's Store
 *   describeServerStoreConformance('mine', async () => createMyStore());  // + users and counters
 *
 * `open` returns a fresh store for each test (it is closed after); return undefined after
 * `t.skip()` when the database it needs is missing.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { ownerTag } from '../base/owner-tag.js';
import { createSessionManager } from '../sessions/session-manager.js';
import type { ServerStore, SessionRecord, Store } from '../stores/store.js';

const HOUR = 3_600_000;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;

/** A record as the session manager makes them: the id hash opens with its owner's tag. */
const record = (overrides: Partial<SessionRecord> = {}): SessionRecord =>
  withTag({
    userId: unique('user'),
    userName: 'alice',
    roles: ['user'],
    createdAt: 1_000,
    lastSeenAt: 1_000,
    absoluteExpiresAt: 1_000 + 7 * 24 * HOUR,
    userAgent: 'test-agent',
    ip: '127.0.0.1',
    data: {},
    version: 0,
    ...overrides,
  });

function withTag(fields: Omit<SessionRecord, 'idHash'> & { idHash?: string }): SessionRecord {
  return { ...fields, idHash: fields.idHash ?? ownerTag(fields.userId) + unique('hash') };
}

/** One test with a fresh store from `open`, closed after. */
function storeTest<S extends Store>(open: (t: TestContext) => Promise<S | undefined>) {
  return (title: string, body: (store: S) => Promise<void>) =>
    it(title, async (t) => {
      const store = await open(t);
      if (!store) return;
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
}
/**
 * The library's `Store` contract: sessions (creation under conditions, rotation, generations,
 * touch, refresh handles, data, the user index) and revocations, concurrency included.
 *
 * @example
 * ```ts
 * describeStoreConformance('my store', async () => createMyStore());
 * ```
 */
export function describeStoreConformance(name: string, open: (t: TestContext) => Promise<Store | undefined>): void {
  describe(`${name} store conformance`, () => {
    const withStore = storeTest(open);

    withStore('a created session reads back field for field', async (store) => {
      const session = record({ data: { cart: [{ sku: 'a', qty: 2 }] }, roles: ['user', 'admin'] });
      await store.sessions.create(session, HOUR);
      assert.deepEqual(await store.sessions.get(session.idHash), session);
    });

    withStore('an unknown session reads as null', async (store) => {
      assert.equal(await store.sessions.get(unique('missing')), null);
    });

    withStore('a session is forgotten after its ttl', async (store) => {
      const session = record();
      await store.sessions.create(session, 50);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(await store.sessions.get(session.idHash), null);
    });

    withStore('count sees created sessions and forgets deleted and expired ones', async (store) => {
      const before = await store.sessions.count();
      const kept = record();
      const deleted = record();
      await store.sessions.create(kept, HOUR);
      await store.sessions.create(deleted, HOUR);
      // Long enough to be counted before it expires on a loaded machine (50 ms was not, once, on a cluster).
      await store.sessions.create(record(), 1_000);
      assert.equal(await store.sessions.count(), before + 3);
      await store.sessions.delete(deleted.idHash);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(await store.sessions.count(), before + 1);
    });

    withStore('a login with replaces deletes the old session in the same step', async (store) => {
      const old = record();
      await store.sessions.create(old, HOUR);
      const next = record({ userId: old.userId });
      assert.equal(await store.sessions.create(next, HOUR, { generation: 0, replaces: old.idHash }), true);
      assert.equal(await store.sessions.get(old.idHash), null);
      assert.deepEqual(
        (await store.sessions.listByUser(old.userId)).map((s) => s.idHash),
        [next.idHash],
      );
    });

    withStore('a login checked under an older credential generation creates nothing and deletes nothing', async (store) => {
      const old = record();
      await store.sessions.create(old, HOUR);
      assert.equal(await store.sessions.generation(old.userId), 0, 'a user starts at generation 0');
      assert.deepEqual(await store.sessions.advanceGeneration(unique('nobody')), [], 'advancing a user without sessions is fine');
      await store.sessions.advanceGeneration(old.userId);
      assert.equal(await store.sessions.generation(old.userId), 1);
      const kept = record({ userId: old.userId });
      await store.sessions.create(kept, HOUR, { generation: 1 });
      const late = record({ userId: old.userId });
      assert.equal(await store.sessions.create(late, HOUR, { generation: 0, replaces: kept.idHash }), false);
      assert.equal(await store.sessions.get(late.idHash), null);
      assert.ok(await store.sessions.get(kept.idHash), 'the session it would have replaced is untouched');
      assert.equal(await store.sessions.create(late, HOUR, { generation: 1 }), true);
    });

    withStore('a rotation only replaces a session that still exists', async (store) => {
      const old = record();
      await store.sessions.create(old, HOUR);
      const next = record({ userId: old.userId });
      assert.equal(await store.sessions.create(next, HOUR, { rotates: old.idHash }), true);
      assert.equal(await store.sessions.get(old.idHash), null);
      const revived = record({ userId: old.userId });
      assert.equal(await store.sessions.create(revived, HOUR, { rotates: old.idHash }), false, 'a revoked session is not brought back');
      assert.equal(await store.sessions.get(revived.idHash), null);
      assert.deepEqual(
        (await store.sessions.listByUser(old.userId)).map((s) => s.idHash),
        [next.idHash],
      );
    });

    withStore('advancing the generation races logins: every login either fails or is deleted by it', async (store) => {
      for (let trial = 0; trial < 20; trial++) {
        const userId = unique('user');
        const generation = await store.sessions.generation(userId);
        const logins = Array.from({ length: 8 }, () => record({ userId }));
        const results = await Promise.all([
          ...logins.slice(0, 4).map((login) => store.sessions.create(login, HOUR, { generation })),
          store.sessions.advanceGeneration(userId),
          ...logins.slice(4).map((login) => store.sessions.create(login, HOUR, { generation })),
        ]);
        const ended = results[4] as string[];
        for (const [i, login] of logins.entries()) {
          const created = results[i < 4 ? i : i + 1] as boolean;
          assert.equal(await store.sessions.get(login.idHash), null, 'no login under the old generation survives');
          assert.equal(ended.includes(login.idHash), created, 'a created login is among those the advance returns');
        }
      }
    });

    withStore('touch records activity and never resurrects a deleted session', async (store) => {
      const session = record();
      await store.sessions.create(session, HOUR);
      assert.equal(await store.sessions.touch(session.idHash, 5_000, HOUR), true);
      assert.equal((await store.sessions.get(session.idHash))?.lastSeenAt, 5_000);
      await store.sessions.delete(session.idHash);
      assert.equal(await store.sessions.touch(session.idHash, 6_000, HOUR), false);
      assert.equal(await store.sessions.get(session.idHash), null);
    });

    withStore('a session with a refresh handle reads back field for field', async (store) => {
      const session = record({ refresh: { hash: unique('refresh'), issuedAt: 1_000, spent: unique('spent') } });
      await store.sessions.create(session, HOUR);
      assert.deepEqual(await store.sessions.get(session.idHash), session);
    });

    withStore('rotateRefresh is a compare-and-set on the refresh hash, and records activity', async (store) => {
      const first = { hash: unique('h0'), issuedAt: 1_000, spent: unique('spent') };
      const session = record({ refresh: first });
      await store.sessions.create(session, HOUR);
      assert.equal(
        await store.sessions.rotateRefresh(session.idHash, unique('other'), { hash: unique('x'), issuedAt: 2_000, spent: '' }, HOUR),
        'conflict',
      );
      const second = { hash: unique('h1'), issuedAt: 3_000, spent: unique('spent') };
      assert.equal(await store.sessions.rotateRefresh(session.idHash, first.hash, second, HOUR), 'rotated');
      const read = await store.sessions.get(session.idHash);
      assert.deepEqual(read?.refresh, second);
      assert.equal(read?.lastSeenAt, 3_000);
      assert.equal(
        await store.sessions.rotateRefresh(session.idHash, first.hash, { hash: unique('h2'), issuedAt: 4_000, spent: '' }, HOUR),
        'conflict',
        'the old hash lost',
      );
      await store.sessions.delete(session.idHash);
      assert.equal(
        await store.sessions.rotateRefresh(session.idHash, second.hash, { hash: unique('h3'), issuedAt: 5_000, spent: '' }, HOUR),
        'missing',
      );
      assert.equal(await store.sessions.get(session.idHash), null, 'never resurrected');

      const plain = record();
      await store.sessions.create(plain, HOUR);
      assert.equal(
        await store.sessions.rotateRefresh(plain.idHash, 'anything', { hash: unique('h'), issuedAt: 1, spent: '' }, HOUR),
        'conflict',
      );
    });

    withStore('a refresh handle bound to a DPoP key stays bound through rotations', async (store) => {
      const first = { hash: unique('h0'), issuedAt: 1_000, spent: unique('spent'), jkt: unique('jkt') };
      const session = record({ refresh: first });
      await store.sessions.create(session, HOUR);
      assert.deepEqual((await store.sessions.get(session.idHash))?.refresh, first);
      assert.equal(
        await store.sessions.rotateRefresh(session.idHash, first.hash, { hash: unique('h1'), issuedAt: 2_000, spent: '' }, HOUR),
        'rotated',
      );
      assert.equal((await store.sessions.get(session.idHash))?.refresh?.jkt, first.jkt);
      assert.equal((await store.sessions.listByUser(session.userId))[0]?.refresh?.jkt, first.jkt);
    });

    withStore('the OAuth client a session was granted to stays with it through rotations and the user index', async (store) => {
      const first = { hash: unique('h0'), issuedAt: 1_000, spent: '' };
      const session = record({ refresh: first, clientId: unique('client') });
      await store.sessions.create(session, HOUR);
      assert.deepEqual(await store.sessions.get(session.idHash), session);
      await store.sessions.rotateRefresh(session.idHash, first.hash, { hash: unique('h1'), issuedAt: 2_000, spent: '' }, HOUR);
      assert.equal((await store.sessions.get(session.idHash))?.clientId, session.clientId);
      assert.equal((await store.sessions.listByUser(session.userId))[0]?.clientId, session.clientId);
      const firstParty = record();
      await store.sessions.create(firstParty, HOUR);
      assert.equal((await store.sessions.get(firstParty.idHash))?.clientId, undefined);
    });

    withStore('of ten concurrent rotations of one handle, exactly one wins', async (store) => {
      const first = { hash: unique('h0'), issuedAt: 1_000, spent: unique('spent') };
      const session = record({ refresh: first });
      await store.sessions.create(session, HOUR);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.sessions.rotateRefresh(session.idHash, first.hash, { hash: `next-${i}`, issuedAt: 2_000 + i, spent: '' }, HOUR),
        ),
      );
      assert.equal(results.filter((result) => result === 'rotated').length, 1);
      assert.equal(results.filter((result) => result === 'conflict').length, 9);
      const winner = results.indexOf('rotated');
      assert.equal((await store.sessions.get(session.idHash))?.refresh?.hash, `next-${winner}`);
    });

    withStore('updateData is a compare-and-set on the version', async (store) => {
      const session = record();
      await store.sessions.create(session, HOUR);
      assert.equal(await store.sessions.updateData(session.idHash, 0, { n: 1 }), 'updated');
      assert.equal(await store.sessions.updateData(session.idHash, 0, { n: 2 }), 'conflict');
      const stored = await store.sessions.get(session.idHash);
      assert.deepEqual([stored?.data, stored?.version], [{ n: 1 }, 1]);
      await store.sessions.delete(session.idHash);
      assert.equal(await store.sessions.updateData(session.idHash, 1, { n: 3 }), 'missing');
      assert.equal(await store.sessions.get(session.idHash), null);
    });

    withStore('delete reports whether a session was there', async (store) => {
      const session = record();
      await store.sessions.create(session, HOUR);
      assert.equal(await store.sessions.delete(session.idHash), true);
      assert.equal(await store.sessions.delete(session.idHash), false);
      assert.deepEqual(await store.sessions.listByUser(session.userId), []);
    });

    withStore("the user index lists and deletes exactly that user's sessions", async (store) => {
      const userId = unique('user');
      const mine = [record({ userId, createdAt: 1 }), record({ userId, createdAt: 2 }), record({ userId, createdAt: 3 })];
      const theirs = record();
      for (const session of [...mine, theirs]) await store.sessions.create(session, HOUR);
      assert.deepEqual((await store.sessions.listByUser(userId)).map((s) => s.idHash).sort(), mine.map((s) => s.idHash).sort());

      assert.deepEqual((await store.sessions.advanceGeneration(userId, mine[0]?.idHash)).sort(), [mine[1]?.idHash, mine[2]?.idHash].sort());
      assert.deepEqual(
        (await store.sessions.listByUser(userId)).map((s) => s.idHash),
        [mine[0]?.idHash],
      );
      assert.ok(await store.sessions.get(theirs.idHash), "another user's session survives");
      assert.equal(await store.sessions.generation(theirs.userId), 0, 'and so does their generation');

      assert.deepEqual(await store.sessions.advanceGeneration(userId), [mine[0]?.idHash]);
      assert.deepEqual(await store.sessions.listByUser(userId), []);
      assert.equal(await store.sessions.generation(userId), 2);
    });

    withStore('expired sessions drop out of the user index', async (store) => {
      const userId = unique('user');
      await store.sessions.create(record({ userId }), 40);
      const lasting = record({ userId });
      await store.sessions.create(lasting, HOUR);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(
        (await store.sessions.listByUser(userId)).map((s) => s.idHash),
        [lasting.idHash],
      );
    });

    withStore('concurrent data updates through the session manager are never lost', async (store) => {
      const manager = createSessionManager(
        store,
        { idleTimeoutMs: HOUR, absoluteTimeoutMs: 24 * HOUR, touchIntervalMs: 60_000, maxDataBytes: 65_536, retainMs: 0 },
        { now: () => Date.now() },
      );
      const { record: session } = await manager.create({ id: unique('user'), roles: [] }, { userAgent: '', ip: '' });
      // Every request starts from the same stale snapshot, as concurrent requests do.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          manager.updateData(session, (data) => ({ ...data, cart: [...((data.cart as number[]) ?? []), i] })),
        ),
      );
      const cart = (await store.sessions.get(session.idHash))?.data.cart as number[];
      assert.deepEqual(
        [...cart].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i),
      );
    });

    withStore('revocations are kept until they expire and listed in full', async (store) => {
      const now = Date.now();
      const sid = unique('sid');
      const entries = [
        { kind: 'sid', value: sid, expiresAt: now + HOUR },
        { kind: 'sub', value: unique('user'), revokedBefore: now, expiresAt: now + HOUR },
        { kind: 'jti', value: unique('jti'), expiresAt: now - 1 },
      ] as const;
      for (const entry of entries) await store.revocations.add(entry);
      await store.revocations.add(entries[0]); // at-least-once delivery may repeat an entry
      const listed = await store.revocations.list(now);
      assert.ok(listed.some((e) => e.kind === 'sid' && e.value === sid));
      assert.ok(listed.some((e) => e.kind === 'sub' && e.value === entries[1].value && e.revokedBefore === now));
      assert.ok(!listed.some((e) => e.value === entries[2].value), 'an expired entry is not listed');
    });

    withStore('acknowledgements: who is short of a position, by the store clock', async (store) => {
      const acks = store.revocations.acknowledgements;
      if (!acks) return; // a store that serves one process has no one to wait for
      const entry = (value: string) => ({ kind: 'jti', value: unique(value), expiresAt: Date.now() + HOUR }) as const;
      const [first, second] = [await store.revocations.add(entry('first')), await store.revocations.add(entry('second'))];
      assert.ok(typeof first === 'string' && typeof second === 'string', 'add resolves with the position');
      const [slow, quick] = [unique('slow'), unique('quick')];
      await acks.acknowledge(slow, first);
      await acks.acknowledge(quick, second);
      const behind = async (position: string, withinMs = HOUR) =>
        (await acks.behind(position, withinMs)).filter((instance) => instance === slow || instance === quick);
      assert.deepEqual(await behind(second), [slow]);
      assert.deepEqual(await behind(first), []);
      assert.deepEqual(await behind(second, -1), [], 'an instance not heard from within the bound is not waited for');
      await acks.acknowledge(slow, second);
      assert.deepEqual(await behind(second), []);
      await acks.leave(quick);
      await acks.acknowledge(slow, first);
      assert.deepEqual(await behind(second), [slow], 'an acknowledgement replaces the last one');
      await acks.leave(slow);
      assert.deepEqual(await behind(second), [], 'gone once it leaves');
    });

    withStore('ping answers while the store is up', async (store) => {
      await store.ping();
    });
  });
}
/** What the identity server adds: unique users and atomic counters. */
export function describeServerStoreConformance(name: string, open: (t: TestContext) => Promise<ServerStore | undefined>): void {
  describe(`${name} server store conformance`, () => {
    const withStore = storeTest(open);

    withStore('users are unique by case-insensitive username', async (store) => {
      const username = unique('Alice');
      const user = { id: unique('id'), username, passwordHash: 'h1', roles: ['user'], createdAt: 1 };
      assert.equal(await store.users.create(user), true);
      assert.equal(await store.users.create({ ...user, id: unique('id'), username: username.toUpperCase() }), false);
      assert.deepEqual(await store.users.getByUsername(username.toLowerCase()), user);
      assert.deepEqual(await store.users.getById(user.id), user);
      assert.equal(await store.users.getById(unique('nobody')), null);
      assert.equal(await store.users.getByUsername(unique('nobody')), null);
    });

    withStore('concurrent registrations of one username admit exactly one', async (store) => {
      const username = unique('bob');
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.users.create({ id: unique('id'), username, passwordHash: 'h', roles: [], createdAt: 1 })),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    withStore('user updates change only what is given', async (store) => {
      const user = { id: unique('id'), username: unique('carol'), passwordHash: 'old', roles: ['user'], createdAt: 1 };
      await store.users.create(user);
      assert.equal(await store.users.update(user.id, { passwordHash: 'new' }), true);
      assert.equal(await store.users.update(user.id, { roles: ['admin'] }), true);
      assert.deepEqual(await store.users.getById(user.id), { ...user, passwordHash: 'new', roles: ['admin'] });
      assert.equal(await store.users.update(unique('nobody'), { roles: [] }), false);
    });

    withStore('counters add atomically within a window that starts at the first hit', async (store) => {
      const key = unique('counter');
      const results = await Promise.all(Array.from({ length: 25 }, () => store.counters.add(key, 1, 60_000)));
      assert.deepEqual(
        results.map((r) => r.count).sort((a, b) => a - b),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      const last = await store.counters.add(key, -5, 60_000);
      assert.equal(last.count, 20);
      assert.ok(last.resetInMs > 0 && last.resetInMs <= 60_000);
      await store.counters.reset(key);
      assert.equal((await store.counters.add(key, 1, 60_000)).count, 1);
    });

    withStore('a counter reads back without being written, and reads as absent once its window ends', async (store) => {
      const key = unique('counter');
      assert.equal(await store.counters.get(key), null);
      assert.equal(await store.counters.get(key), null, 'reading created nothing');
      await store.counters.add(key, 2, 80);
      const read = await store.counters.get(key);
      assert.equal(read?.count, 2);
      assert.ok(read.resetInMs > 0 && read.resetInMs <= 80);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(await store.counters.get(key), null);
    });

    withStore('a counter window ends after windowMs', async (store) => {
      const key = unique('counter');
      await store.counters.add(key, 3, 50);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal((await store.counters.add(key, 1, 50)).count, 1);
    });
  });
}

export type * from '../stores/store.js';
