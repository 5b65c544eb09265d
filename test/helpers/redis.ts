import { after, before, type TestContext } from 'node:test';
import { hasRedisServer, startRedis, type RedisServer } from '../../tools/redis-process.js';

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

/**
 * One real redis-server for the enclosing file or suite, stopped after it. The returned function
 * gives a test the server, or undefined when the test was skipped for want of Redis.
 */
export function useRedis(): (t: TestContext) => RedisServer | undefined {
  let redis: RedisServer | undefined;
  before(async () => {
    if (installed) redis = await startRedis();
  });
  after(() => redis?.dispose());
  return (t) => (requireRedis(t) ? redis : undefined);
}

/** Resolves once a freshly created store answers (clients connect in the background). */
export async function waitUntilUp(store: { ping(): Promise<void> }): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await store.ping();
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
