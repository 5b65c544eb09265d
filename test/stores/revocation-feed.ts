import assert from 'node:assert/strict';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { waitUntilUp } from '../helpers/redis.js';

/**
 * Two clients of one Redis (or cluster): what one adds to the revocation feed, the other's
 * follower receives, every entry, in order; the durable copy lists them too.
 */
export async function assertFeedDeliversInOrder(open: () => Store): Promise<void> {
  const [writer, reader] = [open(), open()];
  await Promise.all([writer, reader].map(waitUntilUp));
  const seen: string[] = [];
  const follower = reader.revocations.follow!((entry) => seen.push(entry.value));
  await follower.ready;
  const expiresAt = Date.now() + 60_000;
  const values = Array.from({ length: 5 }, (_, i) => `j${i}-${Date.now()}`);
  for (const value of values) await writer.revocations.add({ kind: 'jti', value, expiresAt });
  for (let i = 0; i < 100 && seen.length < values.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(seen, values);
  const listed = (await reader.revocations.list(Date.now())).map((entry) => entry.value);
  for (const value of values) assert.ok(listed.includes(value), `${value} is in the durable copy`);
  follower.stop();
  await Promise.all([writer.close(), reader.close()]);
}
