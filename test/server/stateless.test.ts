import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { commandsDuring, withoutBackgroundCommands, useRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
let serial = 0;
const name = (prefix: string) => `${prefix}${process.pid}x${++serial}`;

/** Registers once, then logs in as a new device each call; returns a client that sends the token. */
async function device(server: TestServer, username: string, register = false) {
  const client = new Client(server.url);
  if (register) assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201);
  const login = await client.post('/auth/login', { username, password: PASSWORD });
  assert.equal(login.status, 200);
  const token = login.body.access_token as string;
  return { token, login, client: new Client(server.url, { authorization: `Bearer ${token}` }) };
}

describe('identity server, stateless', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ strategy: 'stateless', store: 'sqlite' });
  });
  after(() => server.stop());

  it('login returns a bearer token and sets no cookie; /auth/me works with it', async () => {
    const username = name('ana');
    const { login, client, token } = await device(server, username, true);
    assert.equal(login.body.token_type, 'Bearer');
    assert.equal(login.body.expires_in, 900);
    assert.equal(login.headers.getSetCookie().length, 0);
    assert.ok(token.length < 600, `a small token: ${token.length} characters`);
    const me = await client.get('/auth/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.user.username, username);
    assert.equal(me.body.auth.strategy, 'stateless');
    assert.equal(me.body.auth.session_id, login.body.session.id);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, string>;
    assert.deepEqual([header.alg, header.typ], ['EdDSA', 'at+jwt']);
  });

  it('logout kills the token at once', async () => {
    const { client } = await device(server, name('bo'), true);
    assert.equal((await client.post('/auth/logout')).status, 204);
    const after = await client.get('/auth/me');
    assert.equal(after.status, 401);
    assert.equal(after.body.code, 'token_revoked');
    assert.equal(after.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  });

  it('logout-all kills every token of the user; a new login right after works', async () => {
    const username = name('cy');
    const laptop = await device(server, username, true);
    const phone = await device(server, username);
    assert.equal((await laptop.client.post('/auth/logout-all')).status, 204);
    assert.equal((await laptop.client.get('/auth/me')).status, 401);
    assert.equal((await phone.client.get('/auth/me')).status, 401);
    const again = await device(server, username);
    assert.equal((await again.client.get('/auth/me')).status, 200, 'a login in the same second is not caught by the sweep');
  });

  it("a password change kills every other token and keeps the caller's", async () => {
    const username = name('di');
    const laptop = await device(server, username, true);
    const phone = await device(server, username);
    assert.equal(
      (await laptop.client.post('/auth/password', { current_password: PASSWORD, new_password: 'another fine secret' })).status,
      204,
    );
    assert.equal((await laptop.client.get('/auth/me')).status, 200);
    assert.equal((await phone.client.get('/auth/me')).status, 401);
  });

  it("the device list shows logins; revoking one kills its token; another user's is 404", async () => {
    const username = name('ed');
    const laptop = await device(server, username, true);
    const phone = await device(server, username);
    const stranger = await device(server, name('fay'), true);
    const sessions = (await laptop.client.get('/auth/sessions')).body.sessions as { id: string; current: boolean }[];
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((s) => s.current).length, 1);
    const theirs = (await stranger.client.get('/auth/sessions')).body.sessions[0].id as string;
    assert.equal((await laptop.client.delete(`/auth/sessions/${theirs}`)).status, 404);
    const other = sessions.find((s) => !s.current)!;
    assert.equal((await laptop.client.delete(`/auth/sessions/${other.id}`)).status, 204);
    assert.equal((await phone.client.get('/auth/me')).status, 401);
    assert.equal((await laptop.client.get('/auth/me')).status, 200);
  });

  it('a tampered or foreign token is refused with invalid_token', async () => {
    const { token } = await device(server, name('gus'), true);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const elevated = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
    const response = await new Client(server.url, { authorization: `Bearer ${h}.${elevated}.${s}` }).get('/auth/me');
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'token_signature');
  });
});

describe('stateless revocations survive a restart', () => {
  it('a token revoked before a restart stays dead after it (SQLite)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-stateless-restart-'));
    // Instances that must accept each other's tokens share the keys and an explicit issuer.
    const options = { strategy: 'stateless', dataDir, issuer: 'https://id.example' } as const;
    try {
      const first = await startTestServer(options);
      const username = name('hal');
      let kept: Awaited<ReturnType<typeof device>>;
      let revoked: Awaited<ReturnType<typeof device>>;
      try {
        kept = await device(first, username, true);
        revoked = await device(first, username);
        assert.equal((await revoked.client.post('/auth/logout')).status, 204);
      } finally {
        await first.stop();
      }
      const second = await startTestServer(options);
      try {
        const call = (token: string) => new Client(second.url, { authorization: `Bearer ${token}` }).get('/auth/me');
        assert.equal((await call(revoked.token)).status, 401);
        assert.equal((await call(kept.token)).status, 200, 'same keys directory and issuer: the other token still verifies');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('stateless on a real Redis', () => {
  const redisFor = useRedis();

  it('an authenticated request sends no command to Redis', async (t) => {
    const redis: RedisServer | undefined = redisFor(t);
    if (!redis) return;
    const server = await startTestServer({ strategy: 'stateless', store: 'redis', redisUrl: redis.url });
    try {
      const { client } = await device(server, name('ivy'), true);
      const requests = 200;
      const commands = await commandsDuring(redis, async () => {
        for (let i = 0; i < requests; i++) assert.equal((await client.get('/auth/me')).status, 200);
      });
      const background = [...commands].filter(([name]) => ['xread', 'evalsha', 'time', 'hset'].includes(name));
      assert.deepEqual([...withoutBackgroundCommands(commands, requests)], [], 'no Redis command per authenticated request');
      t.diagnostic(`${requests} requests; background feed reads and acknowledgements meanwhile: ${JSON.stringify(background)}`);
    } finally {
      await server.stop();
    }
  });
});
