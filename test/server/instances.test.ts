import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { hasPostgresServer } from '../../tools/postgres-process.js';
import { hasRedisServer } from '../../tools/redis-process.js';
import { requirePostgres, startPostgres } from '../helpers/postgres.js';
import { requireRedis, startRedis } from '../helpers/redis.js';
import { spawnServer, type ServerProcess } from '../helpers/server-process.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'root', password: 'root password' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A shared store's server, as the suite below needs it. */
interface Backend {
  /** `tessera serve` flags that point an instance at it. */
  readonly args: readonly string[];
  /** Kills the revocation-feed connection of the server process `pid`; how many it killed. */
  killFeedOf(pid: number): number;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

const BACKENDS: Record<
  'Redis' | 'PostgreSQL',
  { installed: () => boolean; require: (t: TestContext) => boolean; open: () => Promise<Backend> }
> = {
  Redis: {
    installed: hasRedisServer,
    require: requireRedis,
    async open() {
      const redis = await startRedis();
      return {
        args: ['--store', 'redis', '--redis-url', redis.url],
        killFeedOf(pid) {
          const feed = redis
            .cli('CLIENT', 'LIST')
            .split('\n')
            .filter((line) => line.includes(` name=tessera:revocation-feed:${pid} `));
          return feed.filter((line) => redis.cli('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!) === '1').length;
        },
        stop: () => redis.stop(),
        start: () => redis.start(),
        dispose: () => redis.dispose(),
      };
    },
  },
  PostgreSQL: {
    installed: hasPostgresServer,
    require: requirePostgres,
    async open() {
      const postgres = await startPostgres();
      return {
        args: ['--store', 'postgres', '--postgres-url', postgres.url],
        // pg_terminate_backend only signals the backend; with a timeout it returns once the backend
        // is gone, as CLIENT KILL does. Before that the connection still looks alive to the instance.
        killFeedOf: (pid) =>
          Number(
            postgres.sql(
              `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE application_name = 'tessera:revocation-feed:${pid}'`,
            ),
          ),
        stop: () => postgres.stop(),
        start: () => postgres.start(),
        dispose: () => postgres.dispose(),
      };
    },
  },
};

/**
 * Three `tessera serve` processes sharing one real store and one keys directory, as behind a load
 * balancer without sticky sessions: a credential revoked at one must be refused at the others.
 */
for (const [storeName, backendKind] of Object.entries(BACKENDS))
  describe(`stateless revocation across three server processes sharing a ${storeName}`, () => {
    let store: Backend | undefined;
    const servers: ServerProcess[] = [];
    const dirs: string[] = [];
    let start: () => Promise<ServerProcess>;
    const requireStore = (t: TestContext) => backendKind.require(t) && store !== undefined;

    before(async () => {
      if (!backendKind.installed()) return; // each test then fails under CI, or is skipped elsewhere
      store = await backendKind.open();
      const keysDir = mkdtempSync(join(tmpdir(), 'tessera-instances-keys-'));
      dirs.push(keysDir);
      start = async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'tessera-instance-'));
        dirs.push(dataDir);
        const args = ['--strategy', 'stateless', ...store!.args, '--keys-dir', keysDir];
        const server = await spawnServer([
          ...args,
          '--issuer',
          'https://id.test',
          '--data-dir',
          dataDir,
          '--bootstrap-admin',
          `${ADMIN.username}:${ADMIN.password}`,
        ]);
        servers.push(server);
        return server;
      };
      await start(); // the first start writes the shared key; the others read it
      await Promise.all([start(), start()]);
    });

    after(async () => {
      for (const server of servers) await server.stop();
      await store?.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const a = () => servers[0]!.url;
    const b = () => servers[1]!.url;
    const c = () => servers[2]!.url;
    const me = (url: string, token: string) => new Client(url, { authorization: `Bearer ${token}` }).get('/auth/me');
    const as = (url: string, token: string) => new Client(url, { authorization: `Bearer ${token}` });

    async function logIn(url: string, username: string, password = PASSWORD): Promise<string> {
      const login = await new Client(url).post('/auth/login', { username, password });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      return login.body.access_token as string;
    }

    async function register(username: string): Promise<string> {
      const created = await new Client(a()).post('/auth/register', { username, password: PASSWORD });
      assert.equal(created.status, 201);
      return created.body.user.id as string;
    }

    /**
     * The first request at `url` once the change has been answered: refused (acknowledged
     * revocation: every instance applied the change before the answer). With `orUnavailable`, a 503
     * also counts (an instance whose feed was cut knows its copy may be behind).
     */
    async function refusedAt(url: string, token: string, options: { orUnavailable?: boolean } = {}): Promise<void> {
      const answer = await me(url, token);
      if (options.orUnavailable && answer.status === 503) return;
      assert.equal(answer.status, 401, `the first request at ${url} after the answer`);
      assert.equal(answer.body.code, 'token_revoked');
    }

    it('a logout at one instance is refused at the two others', async (t) => {
      if (!requireStore(t)) return;
      await register('ines');
      const token = await logIn(a(), 'ines');
      const other = await logIn(b(), 'ines');
      for (const url of [a(), b(), c()]) assert.equal((await me(url, token)).status, 200);
      assert.equal((await as(a(), token).post('/auth/logout')).status, 204);
      await Promise.all([refusedAt(b(), token), refusedAt(c(), token)]);
      for (const url of [a(), b(), c()]) assert.equal((await me(url, other)).status, 200, 'the other login lives');
    });

    it("a password change at one instance kills the other logins everywhere, not the caller's", async (t) => {
      if (!requireStore(t)) return;
      await register('joao');
      const caller = await logIn(b(), 'joao');
      const others = [await logIn(a(), 'joao'), await logIn(c(), 'joao')];
      const changed = await as(b(), caller).post('/auth/password', { current_password: PASSWORD, new_password: 'a new long password' });
      assert.equal(changed.status, 204);
      for (const token of others) for (const url of [a(), c()]) await refusedAt(url, token);
      for (const url of [a(), b(), c()]) assert.equal((await me(url, caller)).status, 200);
    });

    it('logout-all at one instance kills every token of the user everywhere', async (t) => {
      if (!requireStore(t)) return;
      await register('kai');
      const tokens = [await logIn(a(), 'kai'), await logIn(b(), 'kai'), await logIn(c(), 'kai')];
      assert.equal((await as(c(), tokens[2]!).post('/auth/logout-all')).status, 204);
      for (const token of tokens) for (const url of [a(), b()]) await refusedAt(url, token);
    });

    it('a role change at one instance makes tokens with the old roles fail everywhere', async (t) => {
      if (!requireStore(t)) return;
      const id = await register('lia');
      const token = await logIn(b(), 'lia');
      const admin = await logIn(a(), ADMIN.username, ADMIN.password);
      assert.equal((await as(a(), admin).put(`/admin/users/${id}/roles`, { roles: ['user', 'auditor'] })).status, 200);
      for (const url of [b(), c()]) await refusedAt(url, token);
      const fresh = await logIn(c(), 'lia');
      assert.deepEqual((await me(b(), fresh)).body.user.roles, ['user', 'auditor']);
    });

    it('instances whose feed connection is killed catch up and never accept a token revoked meanwhile', async (t) => {
      if (!requireStore(t)) return;
      await register('mia');
      const token = await logIn(a(), 'mia');
      const survivor = await logIn(a(), 'mia');
      for (const server of servers.slice(1, 3))
        assert.equal(store!.killFeedOf(server.child.pid!), 1, 'one feed connection per instance, killed');
      assert.equal((await as(a(), token).post('/auth/logout')).status, 204);
      for (const url of [b(), c()]) await refusedAt(url, token, { orUnavailable: true });
      for (const url of [b(), c()]) {
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++, await sleep(20)) status = (await me(url, survivor)).status;
        assert.equal(status, 200, 'trusted again after the catch-up');
      }
    });

    it('an instance frozen (SIGSTOP): a change at another still answers, and the frozen one refuses after SIGCONT until caught up', async (t) => {
      if (!requireStore(t)) return;
      await register('pia');
      const token = await logIn(a(), 'pia');
      const survivor = await logIn(a(), 'pia');
      assert.equal((await me(b(), token)).status, 200);
      const frozen = servers[1]!.child.pid!;
      process.kill(frozen, 'SIGSTOP');
      let waitedMs: number;
      try {
        // The feed read B had in flight is answered (empty) meanwhile: that stale answer, read on
        // waking, must not pass for a fresh one.
        await sleep(1_000);
        const started = performance.now();
        assert.equal((await as(a(), token).post('/auth/logout')).status, 204);
        waitedMs = performance.now() - started;
        await refusedAt(c(), token);
      } finally {
        process.kill(frozen, 'SIGCONT');
      }
      t.diagnostic(`the logout answered after ${Math.round(waitedMs)} ms, B frozen`);
      // Not waited for once silent past the bound (5 s), plus the feed's answer window and a margin.
      assert.ok(waitedMs < 15_000, `answered after ${Math.round(waitedMs)} ms`);
      await refusedAt(b(), token, { orUnavailable: true });
      let status = 0;
      for (let i = 0; i < 250 && status !== 200; i++, await sleep(20)) status = (await me(b(), survivor)).status;
      assert.equal(status, 200, 'trusted again once caught up');
      await refusedAt(b(), token);
    });

    it('an instance started after revocations refuses the revoked tokens', async (t) => {
      if (!requireStore(t)) return;
      await register('noa');
      const revoked = await logIn(a(), 'noa');
      const live = await logIn(a(), 'noa');
      assert.equal((await as(a(), revoked).post('/auth/logout')).status, 204);
      const late = await start();
      assert.equal((await me(late.url, revoked)).status, 401);
      assert.equal((await me(late.url, live)).status, 200);
    });

    it(`${storeName} restarted: instances fail closed while it is down, then keep every guarantee`, async (t) => {
      if (!requireStore(t)) return;
      await register('oto');
      const revokedBefore = await logIn(a(), 'oto');
      const revokedAfter = await logIn(b(), 'oto');
      const live = await logIn(c(), 'oto');
      assert.equal((await as(a(), revokedBefore).post('/auth/logout')).status, 204);
      await refusedAt(b(), revokedBefore);

      await store!.stop();
      // B learns of the drop when its socket closes, or from the feed's silence at the latest.
      let during = await me(b(), live);
      for (let i = 0; i < 300 && during.status === 200; i++, await sleep(20)) during = await me(b(), live);
      assert.equal(during.status, 503, 'no feed: the copy may be behind, so nothing is accepted');
      // The probes say the same: alive (no restart needed), not ready (no traffic).
      assert.equal((await new Client(b()).get('/livez')).status, 200);
      assert.equal((await new Client(b()).get('/readyz')).status, 503);
      const lostLogout = await as(a(), revokedAfter).post('/auth/logout');
      assert.equal(lostLogout.status, 503, 'a revocation that cannot be stored fails loudly');
      await store!.start();

      for (const url of [a(), b(), c()]) {
        let status = 0;
        for (let i = 0; i < 250 && status !== 200; i++, await sleep(20)) status = (await me(url, live)).status;
        assert.equal(status, 200, `${url} trusts its copy again`);
        assert.equal((await new Client(url).get('/readyz')).status, 200, `${url} is ready again`);
        assert.equal((await me(url, revokedBefore)).status, 401, 'a revocation from before the restart holds');
        assert.equal((await me(url, revokedAfter)).status, 200, 'the failed logout revoked nothing, and said so');
      }
      assert.equal((await as(b(), revokedAfter).post('/auth/logout')).status, 204);
      for (const url of [a(), c()]) await refusedAt(url, revokedAfter);
    });
  });
