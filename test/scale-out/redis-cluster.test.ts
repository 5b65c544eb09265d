import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { useRedisCluster } from '../helpers/redis.js';
import { PASSWORD, sleep } from '../helpers/scale-out.js';
import { spawnServer, type ServerProcess } from '../helpers/server-process.js';

/** `tessera serve --redis-cluster`: two instances on a three-master cluster, each strategy. */
describe('tessera serve on a Redis Cluster', () => {
  const clusterFor = useRedisCluster();
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const strategy of ['stateful', 'hybrid'] as const) {
    it(`${strategy}: a login at one instance works at the other, a logout there ends it everywhere`, async (t) => {
      const cluster = clusterFor(t);
      if (!cluster) return;
      const keysDir = mkdtempSync(join(tmpdir(), 'tessera-cluster-keys-'));
      dirs.push(keysDir);
      const start = async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
        dirs.push(dataDir);
        const args = [
          '--strategy',
          strategy,
          '--store',
          'redis',
          '--redis-cluster',
          cluster.seeds.join(','),
          '--keys-dir',
          keysDir,
          '--data-dir',
          dataDir,
        ];
        const server = await spawnServer([...args, '--issuer', 'https://id.test', '--insecure-cookies', '--log-level', 'warn']);
        servers.push(server);
        return server;
      };
      const a = await start();
      const b = await start();

      const username = `${strategy}-${Date.now()}`;
      const atA = new Client(a.url);
      assert.equal((await atA.post('/auth/register', { username, password: PASSWORD })).status, 201);
      const login = await atA.post('/auth/login', { username, password: PASSWORD });
      assert.equal(login.status, 200);
      const credential: Record<string, string> = login.body.access_token
        ? { authorization: `Bearer ${login.body.access_token as string}` }
        : { cookie: [...atA.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
      const atB = new Client(b.url, credential);
      const me = await atB.get('/auth/me');
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.user.username, username);
      assert.equal((await atB.get('/auth/sessions')).body.sessions.length, 1, 'the user index on the cluster lists the session');

      assert.equal((await new Client(a.url, credential).post('/auth/logout')).status, 204);
      const since = Date.now();
      for (;;) {
        const answer = await atB.get('/auth/me');
        if (answer.status === 401) break;
        assert.equal(answer.status, 200);
        assert.ok(Date.now() - since < 3_000, 'the other instance hears of the logout within 3 s');
        await sleep(5);
      }
      t.diagnostic(`${strategy} on the cluster: logout at one instance refused at the other after ${Date.now() - since} ms`);
    });
  }
});
