import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { commandsDuring, withoutBackgroundCommands, useRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';

/** A server on this Redis with one logged-in user; `run` gets its client, and the server stops after. */
async function withLoggedInUser(redis: RedisServer, username: string, run: (client: Client) => Promise<void>) {
  const server = await startTestServer({ store: 'redis', redisUrl: redis.url });
  try {
    const client = new Client(server.url);
    assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201);
    assert.equal((await client.post('/auth/login', { username, password: PASSWORD })).status, 200);
    await run(client);
  } finally {
    await server.stop();
  }
}

/** /auth/me once Redis is reachable again (the client reconnects in the background). */
async function meAfterRecovery(client: Client) {
  let me = await client.get('/auth/me');
  for (let i = 0; i < 50 && me.status === 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    me = await client.get('/auth/me');
  }
  return me;
}

describe('identity server on a real Redis', () => {
  const redisFor = useRedis();

  it('an authenticated request costs one Redis command in steady state', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    await withLoggedInUser(redis, 'counted', async (client) => {
      const requests = 200;
      const commands = await commandsDuring(redis, async () => {
        for (let i = 0; i < requests; i++) assert.equal((await client.get('/auth/me')).status, 200);
      });
      // The revocation feed (for service tokens) polls and acknowledges on its own schedule.
      assert.deepEqual(
        [...withoutBackgroundCommands(commands, requests)],
        [['hgetall', requests]],
        'one HGETALL per request, no EXPIRE, no write',
      );
    });
  });

  it('Redis stopped mid-session: 503 quickly, the session kept; Redis back: the session works', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    await withLoggedInUser(redis, 'outage', async (client) => {
      const cookie = client.cookies.get('tessera');
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
      const me = await meAfterRecovery(client);
      assert.equal(me.status, 200, 'the session outlived the outage');
      assert.equal(me.body.user.username, 'outage');
    });
  });

  it('a frozen Redis (no answer at all) gives 503 within the command timeout, never a hang', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    await withLoggedInUser(redis, 'frozen', async (client) => {
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
      assert.equal((await meAfterRecovery(client)).status, 200);
    });
  });
});
