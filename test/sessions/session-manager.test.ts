import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionDataTooLargeError } from '../../packages/tessera-auth/src/base/errors.js';
import { hashSessionId } from '../../packages/tessera-auth/src/sessions/session-id.js';
import { createSessionManager } from '../../packages/tessera-auth/src/sessions/session-manager.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { frozenClock } from '../helpers/clock.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const policy = { idleTimeoutMs: 24 * HOUR, absoluteTimeoutMs: 7 * 24 * HOUR, touchIntervalMs: MINUTE, maxDataBytes: 1024, retainMs: 0 };
const owner = { id: 'user-1', name: 'alice', roles: ['user'] };
const client = { userAgent: 'test', ip: '127.0.0.1' };

/** Counts the writes a real memory store receives. */
function countingStore() {
  const store = createMemoryStore();
  const writes = { touch: 0 };
  const sessions = {
    ...store.sessions,
    touch: (...args: Parameters<Store['sessions']['touch']>) => (writes.touch++, store.sessions.touch(...args)),
  };
  return { store: { ...store, sessions } as Store, writes };
}

describe('session manager', () => {
  it('issues 256-bit base64url ids and stores only their hash', async () => {
    const store = createMemoryStore();
    const { id, record } = await createSessionManager(store, policy, frozenClock()).create(owner, client);
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(id, 'base64url').length, 32);
    assert.equal(record.idHash, hashSessionId(id));
    assert.notEqual(record.idHash, id);
    assert.equal(await store.sessions.get(id), null, 'the raw id is not a store key');
  });

  it('ids that could not have been issued never reach the store', async () => {
    let reads = 0;
    const store = createMemoryStore();
    const spied = { ...store, sessions: { ...store.sessions, get: (h: string) => (reads++, store.sessions.get(h)) } } as Store;
    const manager = createSessionManager(spied, policy, frozenClock());
    for (const forged of ['', 'short', 'x'.repeat(4096), 'a'.repeat(42) + '!', 'a'.repeat(44)]) {
      assert.equal(await manager.resolve(forged), null);
    }
    assert.equal(reads, 0);
  });

  it('an idle session ends after the idle timeout', async () => {
    const clock = frozenClock();
    const manager = createSessionManager(createMemoryStore(), policy, clock);
    const { id } = await manager.create(owner, client);
    clock.advance(24 * HOUR - 1);
    assert.ok(await manager.resolve(id), 'alive one millisecond before the idle limit');
    clock.advance(24 * HOUR);
    assert.equal(await manager.resolve(id), null);
  });

  it('sliding renewal never extends a session past the absolute timeout', async () => {
    const clock = frozenClock();
    const manager = createSessionManager(createMemoryStore(), policy, clock);
    const { id } = await manager.create(owner, client);
    // Active every 12 hours for a week: each visit renews the idle window.
    for (let elapsed = 12 * HOUR; elapsed < 7 * 24 * HOUR; elapsed += 12 * HOUR) {
      clock.advance(12 * HOUR);
      const session = await manager.resolve(id);
      assert.ok(session, `alive after ${elapsed / HOUR} h`);
      assert.ok(manager.expiresAt(session) <= session.absoluteExpiresAt);
    }
    clock.advance(12 * HOUR);
    assert.equal(await manager.resolve(id), null, 'dead after 7 days however active');
  });

  it('activity is written at most once per touch interval', async () => {
    const clock = frozenClock();
    const { store, writes } = countingStore();
    const manager = createSessionManager(store, policy, clock);
    const { id } = await manager.create(owner, client);
    for (let i = 0; i < 100; i++) {
      clock.advance(1_000); // 100 requests over 100 seconds
      assert.ok(await manager.resolve(id));
    }
    assert.equal(writes.touch, 1, 'one write in 100 s with a 60 s touch interval');
    assert.equal((await store.sessions.get(hashSessionId(id)))?.lastSeenAt, clock.now() - 40_000);
  });

  it('rotation gives a fresh id, kills the old one, and keeps data and the absolute limit', async () => {
    const clock = frozenClock();
    const manager = createSessionManager(createMemoryStore(), policy, clock);
    const { id, record } = await manager.create(owner, client);
    const withCart = await manager.updateData(record, () => ({ cart: ['book'] }));
    clock.advance(HOUR);
    const rotated = await manager.rotate(withCart!, ['user', 'admin']);
    assert.notEqual(rotated.id, id);
    assert.equal(await manager.resolve(id), null);
    const resolved = await manager.resolve(rotated.id);
    assert.deepEqual(resolved?.data, { cart: ['book'] });
    assert.deepEqual(resolved?.roles, ['user', 'admin']);
    assert.equal(resolved?.absoluteExpiresAt, record.absoluteExpiresAt);
  });

  it('session data over the size limit is refused with a clear error and nothing is written', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager(store, policy, frozenClock());
    const { record } = await manager.create(owner, client);
    await assert.rejects(
      manager.updateData(record, () => ({ blob: 'x'.repeat(2000) })),
      (error: unknown) => {
        assert.ok(error instanceof SessionDataTooLargeError);
        assert.equal(error.code, 'session_data_too_large');
        assert.match(error.message, /limit is 1024/);
        return true;
      },
    );
    assert.deepEqual((await store.sessions.get(record.idHash))?.data, {});
  });

  it('listing leaves out sessions that have expired by the clock', async () => {
    const clock = frozenClock();
    const manager = createSessionManager(createMemoryStore(), { ...policy, idleTimeoutMs: HOUR }, clock);
    await manager.create(owner, client);
    clock.advance(2 * HOUR);
    const fresh = await manager.create(owner, client);
    assert.deepEqual(
      (await manager.listOfUser(owner.id)).map((s) => s.idHash),
      [fresh.record.idHash],
    );
  });
});
