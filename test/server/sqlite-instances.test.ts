import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { spawnServer, type ServerProcess } from '../helpers/server-process.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'root', password: 'root password' };

/**
 * Three `tessera serve` processes on one data directory (one SQLite file, one keys directory, one
 * `--issuer`), as Node's cluster module or a supervisor would run them: each follows the others'
 * revocations through the file, and a change answers once all three have applied it.
 */
for (const strategy of ['stateless', 'hybrid'] as const) {
  describe(`${strategy}: three server processes on one SQLite data directory`, () => {
    const servers: ServerProcess[] = [];
    let dataDir: string;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'tessera-shared-sqlite-'));
      const args = [
        '--strategy',
        strategy,
        '--data-dir',
        dataDir,
        '--issuer',
        'https://id.test',
        '--bootstrap-admin',
        `${ADMIN.username}:${ADMIN.password}`,
      ];
      servers.push(await spawnServer(args)); // the first start writes the keys; the others read them
      servers.push(...(await Promise.all([spawnServer(args), spawnServer(args)])));
    });

    after(async () => {
      for (const server of servers) await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const url = (i: number) => servers[i]!.url;
    const as = (i: number, token: string) => new Client(url(i), { authorization: `Bearer ${token}` });
    const me = (i: number, token: string) => as(i, token).get('/auth/me');

    async function logIn(i: number, username: string, password = PASSWORD): Promise<string> {
      const login = await new Client(url(i)).post('/auth/login', { username, password, transport: 'body' });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      return login.body.access_token as string;
    }

    async function register(username: string): Promise<string> {
      const created = await new Client(url(0)).post('/auth/register', { username, password: PASSWORD });
      assert.equal(created.status, 201);
      return created.body.user.id as string;
    }

    /** The first request at each of `at` once the change has been answered: refused. */
    async function refusedAt(at: number[], token: string): Promise<void> {
      for (const answer of await Promise.all(at.map((i) => me(i, token)))) {
        assert.equal(answer.status, 401);
        assert.equal(answer.body.code, 'token_revoked');
      }
    }

    it('a logout at one process is refused at the two others', async () => {
      await register(`ana-${strategy}`);
      const token = await logIn(0, `ana-${strategy}`);
      const other = await logIn(1, `ana-${strategy}`);
      for (const i of [0, 1, 2]) assert.equal((await me(i, token)).status, 200);
      assert.equal((await as(0, token).post('/auth/logout')).status, 204);
      await refusedAt([1, 2], token);
      for (const i of [0, 1, 2]) assert.equal((await me(i, other)).status, 200, 'the other login lives');
    });

    it("a password change at one process ends the other logins at every process, not the caller's", async () => {
      await register(`bea-${strategy}`);
      const caller = await logIn(1, `bea-${strategy}`);
      const others = [await logIn(0, `bea-${strategy}`), await logIn(2, `bea-${strategy}`)];
      const changed = await as(1, caller).post('/auth/password', { current_password: PASSWORD, new_password: 'a new long password' });
      assert.equal(changed.status, 204);
      for (const token of others) await refusedAt([0, 2], token);
      for (const i of [0, 1, 2]) assert.equal((await me(i, caller)).status, 200);
    });

    it('a role change at one process refuses tokens with the old roles at the others', async () => {
      const id = await register(`cid-${strategy}`);
      const token = await logIn(1, `cid-${strategy}`);
      const admin = await logIn(0, ADMIN.username, ADMIN.password);
      assert.equal((await as(0, admin).put(`/admin/users/${id}/roles`, { roles: ['user', 'auditor'] })).status, 200);
      await refusedAt([1, 2], token);
    });
  });
}
