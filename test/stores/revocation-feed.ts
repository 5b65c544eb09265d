import assert from 'node:assert/strict';
import type { Store } from '../../packages/tessera-auth/src/stores/store.js';
import { waitUntilUp } from '../helpers/redis.js';

/**
 * Two clients of one Redis (or cluster): what one adds to the revocation feed, the other's
 * follower receives, every entry, in order, each with its own position (the follower's position is
 * the last one's, and another follower sees the same positions); the durable copy lists them too.
 */
export async function assertFeedDeliversInOrder(open: () => Store): Promise<void> {
  const [writer, reader] = [open(), open()];
  await Promise.all([writer, reader].map(waitUntilUp));
  const seen: string[] = [];
  const positions: string[] = [];
  const otherPositions: string[] = [];
  const follower = reader.revocations.follow!((entry, position) => (seen.push(entry.value), positions.push(position)));
  const other = writer.revocations.follow!((_entry, position) => otherPositions.push(position));
  await Promise.all([follower.ready, other.ready]);
  const start = follower.position;
  const expiresAt = Date.now() + 60_000;
  const values = Array.from({ length: 5 }, (_, i) => `j${i}-${Date.now()}`);
  for (const value of values) await writer.revocations.add({ kind: 'jti', value, expiresAt });
  for (let i = 0; i < 100 && seen.length < values.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(seen, values);
  assert.equal(new Set([start, ...positions]).size, values.length + 1, 'a position of its own for each entry');
  assert.equal(follower.position, positions.at(-1));
  for (let i = 0; i < 100 && otherPositions.length < values.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(otherPositions, positions, 'the same positions at every follower');
  other.stop();
  const listed = (await reader.revocations.list(Date.now())).map((entry) => entry.value);
  for (const value of values) assert.ok(listed.includes(value), `${value} is in the durable copy`);
  follower.stop();
  await Promise.all([writer.close(), reader.close()]);
}
