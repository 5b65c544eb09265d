import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { Client } from '../helpers/http-client.js';
import { roundTripsDuring, useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'root', password: 'root password' };
const STRATEGIES: readonly Strategy[] = ['stateful', 'stateless', 'hybrid'];
const sorted = (commands: string[]) => [...commands].sort();

/**
 * Every command a login sends: the user by name (2); the throttle's reads (client, account, delay:
 * 3) and counts (client, account, account and client: 3); the generation, then the user again (2);
 * the throttle given back (4); the session (1); the user's sessions, for the per-user cap (1).
 */
const LOGIN = sorted([
  'get',
  'hgetall',
  'evalsha',
  'evalsha',
  'evalsha',
  'evalsha',
  'evalsha',
  'evalsha',
  'get',
  'hgetall',
  'evalsha',
  'evalsha',
  'del',
  'del',
  'evalsha',
  'evalsha',
]);

/**
 * What each operation of the identity server costs its Redis, command by command, as MONITOR sees
 * them (scripts count once). Credential generations add two reads to a login and nothing to the
 * request path or to a refresh.
 */
describe('Redis commands per operation of the identity server', () => {
  const redis = useRedis();
  for (const strategy of STRATEGIES) {
    it(`${strategy}: a login, an authenticated request, a refresh and a role change`, async (t) => {
      const server = redis(t);
      if (!server) return;
      const app = await startTestServer({
        strategy,
        store: 'redis',
        redisUrl: `${server.url}/${STRATEGIES.indexOf(strategy) + 8}`,
        bootstrapAdmin: ADMIN,
      });
      try {
        const logIn = async (username: string, password = PASSWORD) => {
          const client = new Client(app.url);
          const login = await client.post('/auth/login', { username, password, transport: 'body' });
          assert.equal(login.status, 200);
          const api =
            strategy === 'stateful' ? client : new Client(app.url, { authorization: `Bearer ${login.body.access_token as string}` });
          return { login, api };
        };
        const admin = await logIn(ADMIN.username, ADMIN.password); // also loads the scripts
        const username = `costs-${strategy}-${process.pid}`;
        const registered = await new Client(app.url).post('/auth/register', { username, password: PASSWORD });

        let user: Awaited<ReturnType<typeof logIn>> | undefined;
        assert.deepEqual(sorted(await roundTripsDuring(server, async () => void (user = await logIn(username)))), LOGIN);
        assert.deepEqual(
          await roundTripsDuring(server, async () => void (await user!.api.get('/auth/me'))),
          strategy === 'stateful' ? ['hgetall'] : [],
        );
        if (strategy === 'hybrid') {
          let handle = user!.login.body.refresh_token as string;
          const refresh = async () => {
            const refreshed = await new Client(app.url).post('/auth/refresh', { refresh_token: handle });
            assert.equal(refreshed.status, 200);
            handle = refreshed.body.refresh_token as string;
          };
          await refresh(); // loads the script
          assert.deepEqual(sorted(await roundTripsDuring(server, refresh)), ['evalsha', 'hgetall']);
        }
        const setRoles = async (roles: string[]) => {
          assert.equal((await admin.api.put(`/admin/users/${registered.body.user.id as string}/roles`, { roles })).status, 200);
        };
        await setRoles(['user', 'editor']); // loads the scripts
        await logIn(username); // one session for the next change to end
        // The admin's own session (stateful); the update and the re-read of the user; the user's
        // sessions listed, the one sid revoked (durable copy and feed in one transaction), then the
        // generation advanced with the sessions deleted.
        assert.deepEqual(
          sorted(await roundTripsDuring(server, () => setRoles(['user']))),
          sorted([
            ...(strategy === 'stateful' ? ['hgetall'] : []),
            'evalsha',
            'hgetall',
            'evalsha',
            'multi',
            'zadd',
            'xadd',
            'exec',
            'evalsha',
          ]),
        );
      } finally {
        await app.stop();
      }
    });
  }
});
