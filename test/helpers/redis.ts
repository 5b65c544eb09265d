import type { TestContext } from 'node:test';
import { hasRedisServer } from '../../tools/redis-process.js';

export { freePort, startRedis, type RedisServer } from '../../tools/redis-process.js';

const installed = hasRedisServer();

/**
 * Whether Redis tests can run. Under CI a missing redis-server is a failure, never a skip: a
 * skipped test proves nothing. Elsewhere the test is skipped with the reason.
 */
export function requireRedis(t: TestContext): boolean {
  if (installed) return true;
  if (process.env.CI) throw new Error('redis-server is not installed, and CI requires the Redis tests to run.');
  t.skip('redis-server is not installed');
  return false;
}
