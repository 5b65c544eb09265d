import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { StoreUnavailableError } from '../../packages/tessera-auth/src/base/errors.js';
import { createSessionManager } from '../../packages/tessera-auth/src/sessions/session-manager.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import { useRedis, waitUntilUp } from '../helpers/redis.js';
import { describeServerStoreConformance, describeStoreConformance } from '../../packages/tessera-auth/src/testing/store-conformance.js';
import { assertFeedDeliversInOrder } from './revocation-feed.js';

const redisFor = useRedis();

const open = async (t: TestContext) => {
  const redis = redisFor(t);
  if (!redis) return undefined;
  const store = createRedisStore({ url: redis.url, prefix: 'conformance:' });
  await waitUntilUp(store);
  return store;
};
describeStoreConformance('redis', open);
describeServerStoreConformance('redis', open);

const policy = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 86_400_000, touchIntervalMs: 60_000, maxDataBytes: 1024, retainMs: 0 };

it('keys carry the prefix, Redis holds the ttl, and no key or value contains the session id', async (t) => {
  const redis = redisFor(t);
  if (!redis) return;
  const store = createRedisStore({ url: redis.url, prefix: 'dump:' });
  await waitUntilUp(store);
  const { id, record } = await createSessionManager(store, policy, { now: Date.now }).create(
    { id: 'u1', roles: [] },
    { userAgent: '', ip: '' },
  );
  const keys = redis.cli('--scan', '--pattern', 'dump:*').split('\n');
  const key = `dump:s:{${record.idHash.slice(0, 3)}}${record.idHash}`;
  assert.ok(keys.includes(key), keys.join());
  const ttl = Number(redis.cli('PTTL', key));
  assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `ttl ${ttl}`);
  const dump = keys.map((key) => key + redis.cli('--no-raw', 'DUMP', key)).join('\n');
  assert.equal(dump.includes(id), false);
  await store.close();
});

it('a command against a stopped Redis fails fast with store_unavailable', async (t) => {
  const redis = redisFor(t);
  if (!redis) return;
  const store = createRedisStore({ url: redis.url, prefix: 'outage:', commandTimeoutMs: 300 });
  await waitUntilUp(store);
  await redis.stop();
  try {
    const started = Date.now();
    await assert.rejects(
      store.sessions.get('anything'),
      (error: unknown) => error instanceof StoreUnavailableError && error.code === 'store_unavailable',
    );
    assert.ok(Date.now() - started < 2_000, 'the failure is not a hang');
  } finally {
    await redis.start();
  }
  await waitUntilUp(store);
  assert.equal(await store.sessions.get('anything'), null);
  await store.close();
});

it("two instances updating one session's data at once lose nothing (compare-and-set across clients)", async (t) => {
  const redis = redisFor(t);
  if (!redis) return;
  const stores = [createRedisStore({ url: redis.url, prefix: 'cas:' }), createRedisStore({ url: redis.url, prefix: 'cas:' })];
  await Promise.all(stores.map(waitUntilUp));
  const managers = stores.map((store) => createSessionManager(store, { ...policy, maxDataBytes: 65_536 }, { now: Date.now }));
  const { record } = await managers[0]!.create({ id: 'u-cas', roles: [] }, { userAgent: '', ip: '' });
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      managers[i % 2]!.updateData(record, (data) => ({ items: [...((data.items as number[]) ?? []), i] })),
    ),
  );
  const items = (await stores[0]!.sessions.get(record.idHash))?.data.items as number[];
  assert.deepEqual(
    [...items].sort((a, b) => a - b),
    Array.from({ length: 30 }, (_, i) => i),
  );
  await Promise.all(stores.map((store) => store.close()));
});

it('the revocation feed delivers every entry another client adds, in order', async (t) => {
  const redis = redisFor(t);
  if (redis) await assertFeedDeliversInOrder(() => createRedisStore({ url: redis.url, prefix: 'feed:' }));
});
