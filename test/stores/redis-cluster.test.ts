import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { createSessionManager } from '../../packages/tessera-auth/src/sessions/session-manager.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import { useRedisCluster, waitUntilUp } from '../helpers/redis.js';
import { describeServerStoreConformance, describeStoreConformance } from '../../packages/tessera-auth/src/testing/store-conformance.js';
import { assertFeedDeliversInOrder } from './revocation-feed.js';

const clusterFor = useRedisCluster();

const open = async (t: TestContext) => {
  const cluster = clusterFor(t);
  if (!cluster) return undefined;
  const store = createRedisStore({ cluster: cluster.seeds, prefix: 'conformance:' });
  await waitUntilUp(store);
  return store;
};
describeStoreConformance('redis cluster', open);
describeServerStoreConformance('redis cluster', open);

const policy = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 86_400_000, touchIntervalMs: 60_000, maxDataBytes: 1024, retainMs: 0 };
const owner = (id: string) => ({ id, roles: ['user'] });
const client = { userAgent: 'test', ip: '127.0.0.1' };

/** The slot of every key under `prefix` on every master, as the cluster itself computes it. */
function slotsByKey(nodes: readonly { cli(...args: string[]): string }[], prefix: string): Map<string, { slot: number; node: number }> {
  const slots = new Map<string, { slot: number; node: number }>();
  nodes.forEach((node, index) => {
    for (const key of node.cli('--scan', '--pattern', `${prefix}*`).split('\n').filter(Boolean)) {
      slots.set(key, { slot: Number(node.cli('CLUSTER', 'KEYSLOT', key)), node: index });
    }
  });
  return slots;
}

it("each user's sessions and index share one slot, and users spread over every master", async (t) => {
  const cluster = clusterFor(t);
  if (!cluster) return;
  const store = createRedisStore({ cluster: cluster.seeds, prefix: 'slots:' });
  await waitUntilUp(store);
  const sessions = createSessionManager(store, policy, { now: Date.now });
  const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
  for (const user of users) for (let i = 0; i < 3; i++) await sessions.create(owner(user), client);

  const keys = slotsByKey(cluster.nodes, 'slots:');
  assert.equal(keys.size, users.length * 4, 'three sessions and one index per user');
  const nodesUsed = new Set([...keys.values()].map((k) => k.node));
  assert.equal(nodesUsed.size, 3, 'the keys are spread over all three masters');
  for (const user of users) {
    const [index] = [...keys].filter(([key]) => key.startsWith('slots:us:') && key.endsWith(`}${user}`));
    assert.ok(index, `index of ${user}`);
    const mine = (await store.sessions.listByUser(user)).map((s) => `slots:s:{${s.idHash.slice(0, 3)}}${s.idHash}`);
    assert.equal(mine.length, 3);
    for (const key of mine) assert.equal(keys.get(key)?.slot, index[1].slot, `${key} shares the slot of ${index[0]}`);
  }
  assert.equal(await store.sessions.count(), users.length * 3, 'the count covers every master');
  await store.close();
});

it('logout-all, a rotation and a device logout stay atomic on the cluster', async (t) => {
  const cluster = clusterFor(t);
  if (!cluster) return;
  const store = createRedisStore({ cluster: cluster.seeds, prefix: 'atomic:' });
  await waitUntilUp(store);
  const sessions = createSessionManager(store, policy, { now: Date.now });
  const created = await Promise.all(Array.from({ length: 5 }, () => sessions.create(owner('alice'), client)));
  const rotated = await sessions.rotate(created[0]!.record, ['user', 'admin']);
  assert.equal(await sessions.resolve(created[0]!.id), null, 'the old id died with the rotation');
  assert.deepEqual((await sessions.resolve(rotated.id))?.roles, ['user', 'admin']);
  assert.equal(await store.sessions.delete(created[1]!.record.idHash), true);
  assert.equal((await store.sessions.listByUser('alice')).length, 4);
  assert.equal((await store.sessions.advanceGeneration('alice', rotated.record.idHash)).length, 3);
  assert.equal(await store.sessions.generation('alice'), 1);
  assert.deepEqual(
    (await store.sessions.listByUser('alice')).map((s) => s.idHash),
    [rotated.record.idHash],
  );
  await store.close();
});

it('the revocation feed follows entries written through another cluster client', async (t) => {
  const cluster = clusterFor(t);
  if (cluster) await assertFeedDeliversInOrder(() => createRedisStore({ cluster: cluster.seeds, prefix: 'feed:' }));
});

it('a prefix with a brace is refused: it would put every key in one slot', () => {
  assert.throws(() => createRedisStore({ cluster: ['127.0.0.1:1'], prefix: 'app{1}:' }), /may not contain/);
  assert.throws(() => createRedisStore({ cluster: ['nonsense'] }), /host:port/);
});
