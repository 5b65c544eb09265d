import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';

/** Total calls of every command Redis has executed, from INFO commandstats. */
function commandCalls(redis: RedisServer): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of redis.cli('INFO', 'commandstats').split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

describe('identity server on a real Redis', () => {
  let redis: RedisServer | undefined;
  before(async () => {
    try {
      redis = await startRedis();
    } catch (error) {
      if (process.env.CI) throw error;
    }
  });
  after(() => redis?.dispose());

  it('an authenticated request costs one Redis command in steady state', async (t) => {
    if (!requireRedis(t) || !redis) return;
    const server = await startTestServer({ store: 'redis', redisUrl: redis.url });
    try {
      const client = new Client(server.url);
      await client.post('/auth/register', { username: 'counted', password: PASSWORD });
      await client.post('/auth/login', { username: 'counted', password: PASSWORD });
      const before = commandCalls(redis);
      const requests = 200;
      for (let i = 0; i < requests; i++) assert.equal((await client.get('/auth/me')).status, 200);
      const afterBurst = commandCalls(redis);
      const delta = [...afterBurst].map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const).filter(([name, d]) => d > 0 && name !== 'info');
      assert.deepEqual(delta, [['hgetall', requests]], 'one HGETALL per request, no EXPIRE, no write');
    } finally {
      await server.stop();
    }
  });

  it('Redis stopped mid-session: 503 quickly, the session kept; Redis back: the session works', async (t) => {
    if (!requireRedis(t) || !redis) return;
    const server = await startTestServer({ store: 'redis', redisUrl: redis.url });
    try {
      const client = new Client(server.url);
      await client.post('/auth/register', { username: 'outage', password: PASSWORD });
      await client.post('/auth/login', { username: 'outage', password: PASSWORD });
      const cookie = client.cookies.get('tessera');
      assert.equal((await client.get('/auth/me')).status, 200);

      await redis.stop();
      const started = Date.now();
      const during = await client.get('/auth/me');
      assert.equal(during.status, 503);
      assert.equal(during.body.code, 'store_unavailable');
      assert.ok(Date.now() - started < 3_000, 'answered, not hung');
      assert.equal(during.headers.getSetCookie().length, 0, 'an outage never clears the cookie');
      assert.equal(client.cookies.get('tessera'), cookie);
      assert.equal((await client.get('/healthz')).status, 503);
      assert.equal((await client.post('/auth/login', { username: 'outage', password: PASSWORD })).status, 503);

      await redis.start();
      let me = await client.get('/auth/me');
      for (let i = 0; i < 50 && me.status === 503; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        me = await client.get('/auth/me');
      }
      assert.equal(me.status, 200, 'the session outlived the outage');
      assert.equal(me.body.user.username, 'outage');
    } finally {
      await server.stop();
    }
  });

  it('a frozen Redis (no answer at all) gives 503 within the command timeout, never a hang', async (t) => {
    if (!requireRedis(t) || !redis) return;
    const server = await startTestServer({ store: 'redis', redisUrl: redis.url });
    try {
      const client = new Client(server.url);
      await client.post('/auth/register', { username: 'frozen', password: PASSWORD });
      await client.post('/auth/login', { username: 'frozen', password: PASSWORD });
      redis.pause();
      try {
        const started = Date.now();
        const during = await client.get('/auth/me');
        const waited = Date.now() - started;
        assert.equal(during.status, 503);
        assert.ok(waited < 3_000, `answered after ${waited} ms`);
      } finally {
        redis.resume();
      }
      let me = await client.get('/auth/me');
      for (let i = 0; i < 50 && me.status === 503; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        me = await client.get('/auth/me');
      }
      assert.equal(me.status, 200);
    } finally {
      await server.stop();
    }
  });
});
