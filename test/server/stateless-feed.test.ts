import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';

describe('stateless revocation across instances sharing a Redis', () => {
  const redisFor = useRedis();

  it('a logout at one instance is refused at the other on the first request after the answer', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const keysDir = mkdtempSync(join(tmpdir(), 'tessera-shared-keys-'));
    const options = { strategy: 'stateless', store: 'redis', redisUrl: redis.url, keysDir, issuer: 'https://id.example' } as const;
    const a = await startTestServer(options);
    const b = await startTestServer(options);
    try {
      const client = new Client(a.url);
      assert.equal((await client.post('/auth/register', { username: 'shared', password: PASSWORD })).status, 201);
      const tokens: string[] = [];
      for (let i = 0; i < 2; i++)
        tokens.push((await client.post('/auth/login', { username: 'shared', password: PASSWORD })).body.access_token as string);
      const atA = (token: string) => new Client(a.url, { authorization: `Bearer ${token}` });
      const atB = (token: string) => new Client(b.url, { authorization: `Bearer ${token}` });
      assert.equal((await atB(tokens[0]!).get('/auth/me')).status, 200, "B accepts A's token");

      // Acknowledged: the logout answers once B has applied it.
      assert.equal((await atA(tokens[0]!).post('/auth/logout')).status, 204);
      assert.equal((await atB(tokens[0]!).get('/auth/me')).status, 401, 'B refuses the revoked token at once');
      assert.equal((await atB(tokens[1]!).get('/auth/me')).status, 200, 'the other login is untouched');

      // Logout everywhere through B: A refuses the remaining token.
      assert.equal((await atB(tokens[1]!).post('/auth/logout-all')).status, 204);
      assert.equal((await atA(tokens[1]!).get('/auth/me')).status, 401);
    } finally {
      await a.stop();
      await b.stop();
      rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('an instance whose feed goes silent stops trusting its list: 503, then back to normal', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const server = await startTestServer({ strategy: 'stateless', store: 'redis', redisUrl: redis.url, maxStaleness: 1 });
    try {
      const client = new Client(server.url);
      assert.equal((await client.post('/auth/register', { username: 'partitioned', password: PASSWORD })).status, 201);
      const token = (await client.post('/auth/login', { username: 'partitioned', password: PASSWORD })).body.access_token as string;
      const me = () => new Client(server.url, { authorization: `Bearer ${token}` }).get('/auth/me');
      assert.equal((await me()).status, 200);

      redis.pause(); // the request path needs no Redis; only the feed's silence can change the answer
      let during = await me();
      for (let i = 0; i < 50 && during.status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        during = await me();
      }
      redis.resume();
      assert.equal(during.status, 503);
      assert.equal(during.body.code, 'store_unavailable');

      let after = await me();
      for (let i = 0; i < 50 && after.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await me();
      }
      assert.equal(after.status, 200, 'trusted again once the feed answers');
    } finally {
      redis.resume();
      await server.stop();
    }
  });
});
