import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { frozenClock } from '../helpers/clock.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
let serial = 0;
const name = (prefix: string) => `${prefix}${process.pid}x${++serial}`;
const PASSWORD = 'correct horse battery';

async function registered(server: TestServer, username = name('user')) {
  const client = new Client(server.url);
  const created = await client.post('/auth/register', { username, password: PASSWORD });
  assert.equal(created.status, 201);
  return { client, username };
}

async function loggedIn(server: TestServer, username?: string) {
  const { client, username: user } = await registered(server, username);
  assert.equal((await client.post('/auth/login', { username: user, password: PASSWORD })).status, 200);
  return { client, username: user };
}

async function anotherDevice(server: TestServer, username: string, agent = 'second-device') {
  const client = new Client(server.url, { 'user-agent': agent });
  assert.equal((await client.post('/auth/login', { username, password: PASSWORD })).status, 200);
  return client;
}

describe('identity server, stateful, on SQLite', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('register, log in, see who I am and my devices, log out', async () => {
    const { client, username } = await registered(server);
    const login = await client.post('/auth/login', { username, password: PASSWORD });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.username, username);
    assert.deepEqual(login.body.user.roles, ['user']);
    assert.match(login.body.session.id, /^[A-Za-z0-9_-]{43}$/);

    const me = await client.get('/auth/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.user, login.body.user);
    assert.equal(me.body.auth.strategy, 'stateful');
    assert.equal(me.body.auth.session_id, login.body.session.id);
    assert.ok(Date.parse(me.body.auth.expires_at) > Date.now());

    const sessions = await client.get('/auth/sessions');
    assert.equal(sessions.body.sessions.length, 1);
    assert.deepEqual(Object.keys(sessions.body.sessions[0]).sort(), [
      'created_at',
      'current',
      'expires_at',
      'id',
      'ip',
      'last_seen_at',
      'user_agent',
    ]);
    assert.equal(sessions.body.sessions[0].current, true);

    const cookie = [...client.cookies.values()][0];
    assert.equal((await client.post('/auth/logout')).status, 204);
    assert.equal((await client.get('/auth/me')).status, 401);
    // The old cookie value is dead on the server, not only forgotten by the client.
    const replay = new Client(server.url);
    replay.cookies.set('tessera', cookie!);
    assert.equal((await replay.get('/auth/me')).status, 401);
  });

  it('the session cookie is HttpOnly, SameSite=Lax, Path=/', async () => {
    const { client, username } = await registered(server);
    const login = await client.post('/auth/login', { username, password: PASSWORD });
    const cookie = login.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /^tessera=[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Domain=/i);
  });

  it('registration validates input and refuses a taken username, whatever its case', async () => {
    const client = new Client(server.url);
    const bad = await client.post('/auth/register', { username: 'x', password: PASSWORD });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual(Object.keys(bad.body).sort(), ['code', 'detail', 'status', 'title', 'type']);
    assert.equal(bad.body.code, 'invalid_request');
    assert.equal((await client.post('/auth/register', { username: name('short'), password: 'short' })).status, 400);
    assert.equal((await client.post('/auth/register', ['not', 'an', 'object'])).status, 400);

    const username = name('Dana');
    assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201);
    const taken = await client.post('/auth/register', { username: username.toLowerCase(), password: PASSWORD });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.code, 'username_taken');
  });

  it('an unknown user and a wrong password get the same answer', async () => {
    const { client, username } = await registered(server);
    const unknown = await client.post('/auth/login', { username: name('ghost'), password: PASSWORD });
    const wrong = await client.post('/auth/login', { username, password: 'not the password' });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, wrong.body);
    assert.equal(unknown.body.code, 'invalid_credentials');
  });

  it('fixation: an id the server did not issue is never adopted, and login replaces a planted session', async () => {
    const forged = new Client(server.url);
    forged.cookies.set('tessera', 'A'.repeat(43));
    assert.equal((await forged.get('/auth/me')).status, 401);
    assert.equal(forged.cookies.has('tessera'), false, 'the unknown cookie is cleared');

    // The attacker logs in as themself and plants that session id in the victim's browser.
    const attacker = await loggedIn(server);
    const planted = attacker.client.cookies.get('tessera')!;
    const victim = await registered(server);
    victim.client.cookies.set('tessera', planted);
    await victim.client.post('/auth/login', { username: victim.username, password: PASSWORD });

    const issued = victim.client.cookies.get('tessera');
    assert.ok(issued && issued !== planted, 'login issued a fresh id');
    assert.equal((await attacker.client.get('/auth/me')).status, 401, 'the planted id died with the login');
    assert.equal((await victim.client.get('/auth/me')).body.user.username, victim.username);
  });

  it('an oversized Cookie header is not parsed, even when it holds a valid session', async () => {
    const { client } = await loggedIn(server);
    const id = client.cookies.get('tessera')!;
    const padded = new Client(server.url, { cookie: `junk=${'x'.repeat(9_000)}; tessera=${id}` });
    assert.equal((await padded.get('/auth/me')).status, 401, 'over 8 KiB: ignored');
    const normal = new Client(server.url, { cookie: `junk=${'x'.repeat(100)}; tessera=${id}` });
    assert.equal((await normal.get('/auth/me')).status, 200, 'the same session under the limit');
  });

  it('CSRF: a cookie-authenticated request from another origin is refused and changes nothing', async () => {
    const { client, username } = await loggedIn(server);
    const other = await anotherDevice(server, username);
    const forged = await client.post('/auth/logout-all', undefined, { origin: 'http://evil.example' });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, 'csrf');
    assert.equal((await other.get('/auth/me')).status, 200);
    assert.equal((await client.get('/auth/me')).status, 200);

    const sameOrigin = await client.post('/auth/logout-all', undefined, { origin: server.url });
    assert.equal(sameOrigin.status, 204);
    assert.equal((await other.get('/auth/me')).status, 401);
  });

  it('CSRF: login from another origin is refused (login CSRF)', async () => {
    const { client, username } = await registered(server);
    const forged = await client.post(
      '/auth/login',
      { username, password: PASSWORD },
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, 'csrf');
    assert.equal(forged.headers.getSetCookie().length, 0);
  });

  it("logout-all ends every session of the user and no other user's", async () => {
    const { client, username } = await loggedIn(server);
    const phone = await anotherDevice(server, username);
    const stranger = await loggedIn(server);
    assert.equal((await client.post('/auth/logout-all')).status, 204);
    assert.equal((await client.get('/auth/me')).status, 401);
    assert.equal((await phone.get('/auth/me')).status, 401);
    assert.equal((await stranger.client.get('/auth/me')).status, 200);
  });

  it("a password change ends every other session, keeps the caller's, and swaps the password", async () => {
    const { client, username } = await loggedIn(server);
    const phone = await anotherDevice(server, username);
    const wrong = await client.post('/auth/password', { current_password: 'nope nope nope', new_password: 'a brand new secret' });
    assert.equal(wrong.status, 401);
    assert.equal((await phone.get('/auth/me')).status, 200, 'a failed change ends nothing');

    assert.equal((await client.post('/auth/password', { current_password: PASSWORD, new_password: 'a brand new secret' })).status, 204);
    assert.equal((await client.get('/auth/me')).status, 200);
    assert.equal((await phone.get('/auth/me')).status, 401);
    const fresh = new Client(server.url);
    assert.equal((await fresh.post('/auth/login', { username, password: PASSWORD })).status, 401);
    assert.equal((await fresh.post('/auth/login', { username, password: 'a brand new secret' })).status, 200);
  });

  it("a user can revoke one of their devices, but not someone else's", async () => {
    const { client, username } = await loggedIn(server);
    const phone = await anotherDevice(server, username, 'Mozilla/5.0 (iPhone)');
    const stranger = await loggedIn(server);
    const list = (await client.get('/auth/sessions')).body.sessions as { id: string; current: boolean; user_agent: string }[];
    assert.equal(list.length, 2);
    const phoneSession = list.find((s) => !s.current)!;
    assert.equal(phoneSession.user_agent, 'Mozilla/5.0 (iPhone)');

    const theirs = (await stranger.client.get('/auth/sessions')).body.sessions[0].id as string;
    const refused = await client.delete(`/auth/sessions/${encodeURIComponent(theirs)}`);
    assert.equal(refused.status, 404);
    assert.equal((await stranger.client.get('/auth/me')).status, 200);

    assert.equal((await client.delete(`/auth/sessions/${encodeURIComponent(phoneSession.id)}`)).status, 204);
    assert.equal((await phone.get('/auth/me')).status, 401);
    assert.equal((await client.get('/auth/me')).status, 200);
  });

  it('bad bodies and unknown routes answer problem+json', async () => {
    const response = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{bad',
    });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).code, 'invalid_request');
    const huge = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'a'.repeat(100_000) }),
    });
    assert.equal(huge.status, 413);
    assert.equal((await huge.json()).code, 'content_too_large');
    const missing = await new Client(server.url).get('/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not_found');
  });

  it('healthz, livez and readyz answer ok while the store is up', async () => {
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const health = await new Client(server.url).get(path);
      assert.deepEqual([health.status, health.body], [200, { status: 'ok' }], path);
    }
  });

  it('the self-service page is served at /, its script and style from files of their own', async () => {
    const client = new Client(server.url);
    const page = await client.get('/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'; style-src 'self';/);
    for (const text of ['Username', 'Password', 'Log in', 'Register', 'Log out everywhere', 'Current password', 'New password']) {
      assert.ok(String(page.body).includes(text), text);
    }
    assert.doesNotMatch(String(page.body), /<script>|<script type="module">|<style>| on[a-z]+=/, 'nothing inline');
    const script = await client.get('/tessera-page.js');
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok(String(script.body).includes('This device'));
    assert.equal((await client.get('/tessera-page.css')).headers.get('content-type'), 'text/css; charset=utf-8');
  });
});

describe('identity server, timeouts on a frozen clock', () => {
  it('idle and absolute timeouts end sessions over HTTP', async () => {
    const clock = frozenClock(Date.now());
    const server = await startTestServer({ store: 'memory', clock, session: { idleTimeout: 600, absoluteTimeout: 3600 } });
    try {
      const { client, username } = await loggedIn(server);
      clock.advance(599_000);
      assert.equal((await client.get('/auth/me')).status, 200, 'renewed by use just before the idle limit');
      clock.advance(599_000);
      assert.equal((await client.get('/auth/me')).status, 200, 'still alive: the last request slid the window');
      clock.advance(601_000);
      assert.equal((await client.get('/auth/me')).status, 401, 'idle too long');

      const active = await anotherDevice(server, username);
      for (let i = 0; i < 11; i++) {
        clock.advance(300_000);
        assert.equal((await active.get('/auth/me')).status, 200, `active at ${(i + 1) * 5} min`);
      }
      clock.advance(300_000);
      assert.equal((await active.get('/auth/me')).status, 401, 'past the absolute limit however active');
    } finally {
      await server.stop();
    }
  });
});

describe('identity server, restarts and configuration', () => {
  it('sessions on SQLite survive a server restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-restart-'));
    try {
      const first = await startTestServer({ dataDir });
      const { client } = await loggedIn(first);
      await first.stop();
      const second = await startTestServer({ dataDir });
      const again = new Client(second.url);
      again.cookies.set('tessera', client.cookies.get('tessera')!);
      assert.equal((await again.get('/auth/me')).status, 200);
      await second.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('secure cookies by default: __Host- prefix and Secure', async () => {
    const server = await startTestServer({ store: 'memory', insecureCookies: false });
    try {
      const { client, username } = await registered(server);
      const login = await client.post('/auth/login', { username, password: PASSWORD });
      const cookie = login.headers.getSetCookie()[0] ?? '';
      assert.match(cookie, /^__Host-tessera=/);
      assert.match(cookie, /; Secure/);
      assert.match(cookie, /Path=\//);
      assert.equal((await client.get('/auth/me')).status, 200);
    } finally {
      await server.stop();
    }
  });

  it('--bootstrap-admin creates an admin once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-admin-'));
    try {
      for (let start = 0; start < 2; start++) {
        const server = await startTestServer({ dataDir, bootstrapAdmin: { username: 'root', password: 'root password' } });
        const client = new Client(server.url);
        const login = await client.post('/auth/login', { username: 'root', password: 'root password' });
        assert.deepEqual(login.body.user.roles, ['admin', 'user']);
        await server.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
