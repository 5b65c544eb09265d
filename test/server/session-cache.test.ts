import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasRedisServer } from '../../tools/redis-process.js';
import { Client } from '../helpers/http-client.js';
import { commandsDuring, withoutBackgroundCommands, requireRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/server-process.js';

const ADMIN = { username: 'root', password: 'root password' };

/**
 * `tessera serve --strategy stateful --session-cache`: two processes sharing one real Redis. A
 * signed-in request reads nothing from Redis in steady state, and a logout at one process is
 * refused at the other once the revocation feed has delivered it.
 */
describe('tessera serve --session-cache: two processes on one Redis', () => {
  let redis: RedisServer | undefined;
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    if (!hasRedisServer()) return; // each test then fails under CI, or is skipped elsewhere
    redis = await startRedis();
    const keysDir = mkdtempSync(join(tmpdir(), 'tessera-cache-keys-'));
    dirs.push(keysDir);
    const start = async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cache-'));
      dirs.push(dataDir);
      const server = await spawnServer([
        ...['--strategy', 'stateful', '--session-cache', '--store', 'redis', '--redis-url', redis!.url],
        ...['--keys-dir', keysDir, '--issuer', 'https://id.test', '--data-dir', dataDir],
        ...['--bootstrap-admin', `${ADMIN.username}:${ADMIN.password}`],
      ]);
      servers.push(server);
    };
    await start();
    await start();
  });

  after(async () => {
    for (const server of servers) await server.stop();
    await redis?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Signed in at the first process; the same cookies, sent to the second. */
  async function signedIn(): Promise<{ atA: Client; atB: Client }> {
    const atA = new Client(servers[0]!.url);
    assert.equal((await atA.post('/auth/login', ADMIN)).status, 200);
    const atB = new Client(servers[1]!.url);
    for (const [name, value] of atA.cookies) atB.cookies.set(name, value);
    return { atA, atB };
  }

  it('serves signed-in requests with no Redis command in steady state', async (t) => {
    if (!requireRedis(t)) return;
    const { atB } = await signedIn();
    assert.equal((await atB.get('/auth/me')).status, 200);
    const commands = await commandsDuring(redis!, async () => {
      for (let i = 0; i < 100; i++) assert.equal((await atB.get('/auth/me')).status, 200);
    });
    assert.deepEqual([...withoutBackgroundCommands(commands, 100)], [], '100 requests at the second process, no Redis command');
  });

  it('refuses at the second process a session logged out at the first, on the first request after the answer', async (t) => {
    if (!requireRedis(t)) return;
    for (let trial = 0; trial < 10; trial++) {
      const { atA, atB } = await signedIn();
      assert.equal((await atB.get('/auth/me')).status, 200);
      const stale = new Client(servers[1]!.url);
      for (const [name, value] of atA.cookies) stale.cookies.set(name, value);
      assert.equal((await atA.post('/auth/logout')).status, 204);
      assert.equal((await stale.get('/auth/me')).status, 401, `trial ${trial}`);
    }
  });

  it('is a usage error with the token strategies', () => {
    const refused = spawnSync(process.execPath, [CLI, 'serve', '--strategy', 'hybrid', '--session-cache'], { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--session-cache is for --strategy stateful/);
  });
});
