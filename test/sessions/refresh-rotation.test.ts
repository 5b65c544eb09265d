import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHmac, hash } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRefreshRotation, refreshHandle, type RefreshOutcome } from '../../packages/tessera-auth/src/sessions/refresh-rotation.js';
import { generateSessionId, hashSessionId } from '../../packages/tessera-auth/src/sessions/session-id.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { frozenClock, type FrozenClock } from '../helpers/clock.js';
import { useRedis, waitUntilUp } from '../helpers/redis.js';

const MINUTE = 60_000;
const policy = {
  idleTimeoutMs: 60 * MINUTE,
  absoluteTimeoutMs: 24 * 60 * MINUTE,
  touchIntervalMs: MINUTE,
  maxDataBytes: 1024,
  retainMs: 0,
};
const GRACE = 10_000;

async function newSession(store: Store, clock: FrozenClock, jkt?: string) {
  const rotation = createRefreshRotation(store, policy, clock, { graceMs: GRACE });
  const userId = `u-${Math.random()}`;
  const idHash = hashSessionId(generateSessionId(userId));
  const { secret, state } = rotation.issue(jkt);
  const handle = refreshHandle(idHash, secret);
  const now = clock.now();
  await store.sessions.create(
    {
      idHash,
      userId,
      roles: ['user'],
      createdAt: now,
      lastSeenAt: now,
      absoluteExpiresAt: now + policy.absoluteTimeoutMs,
      userAgent: '',
      ip: '',
      data: {},
      version: 0,
      refresh: state,
    },
    policy.idleTimeoutMs,
  );
  return { rotation, idHash, handle };
}

describe('refresh rotation', () => {
  it('rotates on every use; the predecessor within the grace window stays alive beside its successor', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock);
    const first = await rotation.refresh(h0);
    assert.equal(first.kind, 'rotated');
    const h1 = (first as { handle: string }).handle;
    assert.notEqual(h1, h0);
    assert.equal(h1.slice(0, 43), h0.slice(0, 43), 'same session');

    clock.advance(GRACE);
    const retry = await rotation.refresh(h0);
    assert.deepEqual([retry.kind, (retry as { handle: string }).handle], ['replayed', h0]);
    assert.ok((await rotation.current(h0)) && (await rotation.current(h1)), 'both live');

    const second = await rotation.refresh(h1);
    assert.equal(second.kind, 'rotated');
    assert.notEqual((second as { handle: string }).handle, h1);
    assert.equal((await rotation.refresh(h0)).kind, 'reused', 'the rotation spent the kept predecessor too');
  });

  it('a kept predecessor renews after the grace window, and spends the successor it was kept beside', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock);
    const h1 = ((await rotation.refresh(h0)) as { handle: string }).handle;
    assert.equal((await rotation.refresh(h0)).kind, 'replayed');
    clock.advance(GRACE + 1);
    const renewed = await rotation.refresh(h0);
    assert.equal(renewed.kind, 'rotated');
    assert.equal((await rotation.refresh(h1)).kind, 'reused');
  });

  it('remembers the last 16 former handles: older ones are merely unknown', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock);
    const handles = [h0];
    for (let i = 0; i < 17; i++) {
      clock.advance(GRACE + 1);
      handles.push(((await rotation.refresh(handles.at(-1)!)) as { handle: string }).handle);
    }
    await assert.rejects(rotation.refresh(handles[0]!), { code: 'refresh_token_invalid' }, '17 back');
    assert.equal((await rotation.refresh(handles[1]!)).kind, 'reused', '16 back');
  });

  it('attack: the stored state and a former handle do not yield the current one (each successor is drawn at random)', async () => {
    const clock = frozenClock();
    const [store, copy] = [createMemoryStore(), createMemoryStore()];
    const { rotation, idHash, handle: h0 } = await newSession(store, clock);
    await copy.sessions.create((await store.sessions.get(idHash))!, policy.idleTimeoutMs);
    const atCopy = createRefreshRotation(copy, policy, clock, { graceMs: GRACE });
    // Two stores in the same state, the same handle presented: were the successor a function of
    // the two, a copy of the store and a former handle would give the current one.
    const [a, b] = [await rotation.refresh(h0), await atCopy.refresh(h0)];
    assert.deepEqual([a.kind, b.kind], ['rotated', 'rotated']);
    assert.notEqual((a as { handle: string }).handle, (b as { handle: string }).handle);
  });

  it('a rotated handle presented after the grace window is reuse', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock);
    await rotation.refresh(h0);
    clock.advance(GRACE + 1);
    assert.equal((await rotation.refresh(h0)).kind, 'reused');
  });

  it('with no grace window, the predecessor is reuse even within the millisecond of its rotation', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { handle: h0 } = await newSession(store, clock);
    const rotation = createRefreshRotation(store, policy, clock, { graceMs: 0 });
    assert.equal((await rotation.refresh(h0)).kind, 'rotated');
    assert.equal((await rotation.refresh(h0)).kind, 'reused');
  });

  it('an older handle is reuse even inside the grace window', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock);
    const h1 = ((await rotation.refresh(h0)) as { handle: string }).handle;
    await rotation.refresh(h1);
    assert.equal((await rotation.refresh(h0)).kind, 'reused', 'two generations back');
  });

  it('attack: a former bound handle replayed with a proof made before it was spent, or without its key, is refused and revokes nothing', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock, 'the-key');
    const proved = (at: number, jkt = 'the-key') => ({ jkt, proofIssuedAt: at, unboundAllowed: true });
    const madeAt = clock.now();
    clock.advance(1_500);
    const h1 = ((await rotation.refresh(h0, proved(madeAt))) as { handle: string }).handle;
    clock.advance(GRACE + 1);
    // The captured request again (its proof from before the rotation), then a thief without the key.
    await assert.rejects(rotation.refresh(h0, proved(madeAt)), { code: 'invalid_dpop_proof' });
    await assert.rejects(rotation.refresh(h0, proved(clock.now(), 'a-thief')), { code: 'invalid_dpop_proof' });
    await assert.rejects(rotation.refresh(h0, { unboundAllowed: true }), { code: 'invalid_dpop_proof' });
    assert.ok(await rotation.current(h1), 'nothing was spent: the successor is still the current handle');
    // A proof made since the rotation, with the key: the key's holder reusing a spent handle.
    assert.equal((await rotation.refresh(h0, proved(clock.now()))).kind, 'reused');
  });

  it('attack: a forged secret for a known (public) session id is invalid and revokes nothing', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, idHash, handle } = await newSession(store, clock);
    await assert.rejects(rotation.refresh(`${idHash}.${generateSessionId('u1')}`), { code: 'refresh_token_invalid' });
    assert.equal((await rotation.refresh(handle)).kind, 'rotated', 'the real handle still works');
  });

  it('attack: malformed handles are refused before any store trip', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle } = await newSession(store, clock);
    for (const bad of ['', handle.slice(1), `${handle}x`, handle.replace('.', '-'), `${handle.slice(0, 86)}!`, 'a'.repeat(10_000)]) {
      await assert.rejects(rotation.refresh(bad), { code: 'refresh_token_invalid' }, JSON.stringify(bad.slice(0, 20)));
    }
  });

  it('never passes the absolute lifetime, however often it is used', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle: h0 } = await newSession(store, clock);
    let handle = h0;
    let refreshes = 0;
    for (;;) {
      clock.advance(50 * MINUTE); // always inside the idle limit
      const outcome = await rotation.refresh(handle).catch((error: { code?: string }) => error.code);
      if (typeof outcome === 'string' || outcome === undefined) {
        assert.equal(outcome, 'refresh_token_invalid');
        break;
      }
      handle = (outcome as { handle: string }).handle;
      refreshes++;
    }
    // 24 hours in 50-minute steps: 28 uses fit (the last at 23 h 20 min), the 29th is past the limit.
    assert.equal(refreshes, 28);
  });

  it('a deleted session has no valid handle', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, idHash, handle } = await newSession(store, clock);
    await store.sessions.delete(idHash);
    await assert.rejects(rotation.refresh(handle), { code: 'refresh_token_invalid' });
  });

  it('ten concurrent refreshes with one handle: one rotation, the others keep the handle alive beside the successor', async () => {
    const clock = frozenClock();
    const store = createMemoryStore();
    const { rotation, handle } = await newSession(store, clock);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => rotation.refresh(handle)));
    assertOneRotation(outcomes, handle);
    for (const { handle: live } of outcomes as { handle: string }[]) assert.ok(await rotation.current(live));
  });
});

function assertOneRotation(outcomes: RefreshOutcome[], presented: string) {
  assert.equal(outcomes.filter((o) => o.kind === 'rotated').length, 1);
  const replayed = outcomes.filter((o) => o.kind === 'replayed');
  assert.equal(replayed.length, outcomes.length - 1);
  for (const outcome of replayed) assert.equal((outcome as { handle: string }).handle, presented);
}

describe('refresh rotation across two instances on one Redis', () => {
  const redisFor = useRedis();

  it('ten concurrent refreshes split over two clients: one rotation, the others keep the handle', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const clock = frozenClock(Date.now());
    const [a, b] = [createRedisStore({ url: redis.url }), createRedisStore({ url: redis.url })];
    try {
      await Promise.all([a, b].map(waitUntilUp));
      const { handle } = await newSession(a, clock);
      const atB = createRefreshRotation(b, policy, clock, { graceMs: GRACE });
      const atA = createRefreshRotation(a, policy, clock, { graceMs: GRACE });
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? atA : atB).refresh(handle)));
      assertOneRotation(outcomes, handle);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('attack: a dump of the session hash and a former handle do not lead to the current one', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const clock = frozenClock(Date.now());
    const store = createRedisStore({ url: redis.url });
    const client = new Redis(redis.url);
    try {
      await waitUntilUp(store);
      const { rotation, idHash, handle: h0 } = await newSession(store, clock);
      const h1 = ((await rotation.refresh(h0)) as { handle: string }).handle;
      clock.advance(GRACE + 1);
      const current = ((await rotation.refresh(h1)) as { handle: string }).handle;
      const [key] = await client.keys(`*${idHash}`);
      const dump = await client.hgetall(key!);
      // What handles derived from a stored key would let a thief do: walk forward from a former
      // handle with every stored value as the key, and look for the current handle's hash.
      const reached = Object.values(dump).some((value) =>
        [Buffer.from(value, 'base64url'), Buffer.from(value)].some((derivationKey) => {
          let secret = h0.slice(44);
          for (let step = 0; step < 4; step++) {
            secret = createHmac('sha256', derivationKey).update(secret).digest('base64url');
            if (hash('sha256', secret, 'base64url') === dump.fh) return true;
          }
          return false;
        }),
      );
      assert.equal(reached, false);
      assert.equal(
        Object.values(dump).some((value) => value.includes(current.slice(44))),
        false,
        'no secret at rest',
      );
    } finally {
      client.disconnect();
      await store.close();
    }
  });
});
