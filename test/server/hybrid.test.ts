import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { frozenClock, type FrozenClock } from '../helpers/clock.js';
import { Client } from '../helpers/http-client.js';
import { commandsDuring, withoutBackgroundCommands, useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { spawnServerWithFreshData, type ServerProcess } from '../helpers/server-process.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const REFRESH_COOKIE = 'tessera-refresh';
let serial = 0;
const name = (prefix: string) => `${prefix}${process.pid}x${++serial}`;
const bearer = (server: TestServer, token: string) => new Client(server.url, { authorization: `Bearer ${token}` });

/** Registers (first time) and logs in; `browser` keeps the refresh cookie in its jar. */
async function signIn(server: TestServer, username: string, options: { register?: boolean; transport?: 'body' } = {}) {
  const browser = new Client(server.url);
  if (options.register) assert.equal((await browser.post('/auth/register', { username, password: PASSWORD })).status, 201);
  const login = await browser.post('/auth/login', {
    username,
    password: PASSWORD,
    ...(options.transport && { transport: options.transport }),
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return { browser, login, token: login.body.access_token as string, api: bearer(server, login.body.access_token as string) };
}

describe('identity server, hybrid', () => {
  let server: TestServer;
  let clock: FrozenClock;
  before(async () => {
    clock = frozenClock(Date.now());
    server = await startTestServer({
      strategy: 'hybrid',
      store: 'sqlite',
      clock,
      session: { idleTimeout: 3_600, absoluteTimeout: 4 * 3_600 },
    });
  });
  after(() => server.stop());

  it('login returns a 5-minute access token and sets the refresh handle as a cookie for the refresh path only', async () => {
    const username = name('ana');
    const { login, api, browser } = await signIn(server, username, { register: true });
    assert.equal(login.body.token_type, 'Bearer');
    assert.equal(login.body.expires_in, 300);
    assert.equal(login.body.refresh_token, undefined, 'a browser never sees the handle');
    assert.equal(login.headers.get('cache-control'), 'no-store');
    const [refresh, device, hint, ...others] = login.headers.getSetCookie();
    assert.deepEqual(others, []);
    assert.equal(
      hint,
      'tessera-signed-in=refresh; Max-Age=14400; Path=/; SameSite=Strict',
      "the page's hint: no secret, readable by script",
    );
    assert.match(
      refresh!,
      new RegExp(`^${REFRESH_COOKIE}=[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}; Max-Age=14400; Path=/; HttpOnly; SameSite=Lax$`),
    );
    assert.match(
      device!,
      /^tessera-device=[^;]+; Max-Age=15552000; Path=\/auth; HttpOnly; SameSite=Strict$/,
      'the device cookie, for login throttling only',
    );
    assert.ok(browser.cookies.get(REFRESH_COOKIE)!.startsWith(`${login.body.session.id}.`), 'the handle names its session');
    const me = await api.get('/auth/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.auth.strategy, 'hybrid');
    assert.equal(me.body.auth.session_id, login.body.session.id);
  });

  it('the refresh cookie is traded for a new access token and the next handle; the old handle then only replays', async () => {
    const { browser } = await signIn(server, name('bo'), { register: true });
    const first = browser.cookies.get(REFRESH_COOKIE)!;
    clock.advance(60_000);
    const refreshed = await browser.post('/auth/refresh');
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.expires_in, 300);
    assert.equal(refreshed.body.refresh_token, undefined);
    const second = browser.cookies.get(REFRESH_COOKIE)!;
    assert.notEqual(second, first);
    const me = await bearer(server, refreshed.body.access_token as string).get('/auth/me');
    assert.equal(me.status, 200);
  });

  it('mobile clients get and send the handle in the body, and no cookie is set', async () => {
    const username = name('cy');
    const { login } = await signIn(server, username, { register: true, transport: 'body' });
    assert.equal(login.headers.getSetCookie().length, 0);
    const handle = login.body.refresh_token as string;
    assert.match(handle, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    const app = new Client(server.url); // no cookie jar contents, no Origin: a phone
    const refreshed = await app.post('/auth/refresh', { refresh_token: handle });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.headers.getSetCookie().length, 0);
    assert.match(refreshed.body.refresh_token as string, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    assert.notEqual(refreshed.body.refresh_token, handle);
    assert.equal((await bearer(server, refreshed.body.access_token as string).get('/auth/me')).body.user.username, username);
  });

  it('renewal works with an expired access token still in the Authorization header', async () => {
    const { login } = await signIn(server, name('dee'), { register: true, transport: 'body' });
    clock.advance(310_000); // past expiry and the 5-second leeway
    const stale = bearer(server, login.body.access_token as string);
    assert.equal((await stale.get('/auth/me')).body.code, 'token_expired');
    const refreshed = await stale.post('/auth/refresh', { refresh_token: login.body.refresh_token });
    assert.equal(refreshed.status, 200);
  });

  it('reuse of a rotated handle after the grace window revokes the session and its access tokens at once', async () => {
    const username = name('eve');
    const victim = await signIn(server, username, { register: true, transport: 'body' });
    const stolen = victim.login.body.refresh_token as string;
    const rotated = await new Client(server.url).post('/auth/refresh', { refresh_token: stolen });
    const current = bearer(server, rotated.body.access_token as string);
    assert.equal((await current.get('/auth/me')).status, 200);

    clock.advance(11_000); // past the 10-second grace window
    const replay = await new Client(server.url).post('/auth/refresh', { refresh_token: stolen });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'refresh_token_reused');

    for (const token of [victim.token, rotated.body.access_token as string]) {
      const me = await bearer(server, token).get('/auth/me');
      assert.equal(me.status, 401);
      assert.equal(me.body.code, 'token_revoked');
    }
    const legit = await new Client(server.url).post('/auth/refresh', { refresh_token: rotated.body.refresh_token });
    assert.equal(legit.status, 401, 'the rightful holder must log in again too: the family is dead');
    assert.equal(legit.body.code, 'refresh_token_invalid');
  });

  it('inside the grace window a replay keeps its handle alive beside the successor; the next renewal spends both', async () => {
    const { login } = await signIn(server, name('fay'), { register: true, transport: 'body' });
    const first = await new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    clock.advance(5_000);
    const again = await new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    assert.equal(again.status, 200);
    assert.equal(again.body.refresh_token, login.body.refresh_token);
    const next = await new Client(server.url).post('/auth/refresh', { refresh_token: first.body.refresh_token });
    assert.equal(next.status, 200, 'the successor still works');
    const late = await new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    assert.equal(late.body.code, 'refresh_token_reused');
  });

  it('ten concurrent refreshes with one handle all succeed: one rotation, the others keep the handle', async () => {
    const { login } = await signIn(server, name('gus'), { register: true, transport: 'body' });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token })),
    );
    const successor = assertOneRotation(results, login.body.refresh_token as string);
    assert.equal((await new Client(server.url).post('/auth/refresh', { refresh_token: successor })).status, 200);
  });

  it('sliding renewal never passes the absolute session lifetime', async () => {
    const { login } = await signIn(server, name('hal'), { register: true, transport: 'body' });
    let handle = login.body.refresh_token as string;
    // Refresh every 50 minutes (inside the 1-hour idle limit) up to the 4-hour absolute limit.
    for (let elapsed = 50; elapsed < 240; elapsed += 50) {
      clock.advance(50 * 60_000);
      const refreshed = await new Client(server.url).post('/auth/refresh', { refresh_token: handle });
      assert.equal(refreshed.status, 200, `at ${elapsed} minutes`);
      handle = refreshed.body.refresh_token as string;
    }
    clock.advance(50 * 60_000); // 250 minutes after login
    const late = await new Client(server.url).post('/auth/refresh', { refresh_token: handle });
    assert.equal(late.status, 401);
    assert.equal(late.body.code, 'refresh_token_invalid');
  });

  it('an access token never outlives its session: renewed two minutes before the absolute end, it expires at that end', async () => {
    const { login } = await signIn(server, name('ivy'), { register: true, transport: 'body' });
    const end = Date.parse(login.body.session.expires_at as string) - 3_600_000 + 4 * 3_600_000; // login + the absolute limit
    let handle = login.body.refresh_token as string;
    for (const minutes of [50, 50, 50, 50, 38]) {
      clock.advance(minutes * 60_000);
      const refreshed = await new Client(server.url).post('/auth/refresh', { refresh_token: handle });
      assert.equal(refreshed.status, 200);
      handle = refreshed.body.refresh_token as string;
      if (minutes === 38) {
        const { exp } = JSON.parse(Buffer.from((refreshed.body.access_token as string).split('.')[1]!, 'base64url').toString()) as {
          exp: number;
        };
        assert.ok(exp * 1000 <= end, `exp ${exp * 1000 - end} ms past the session's end`);
        assert.ok(
          refreshed.body.expires_in <= 120 && refreshed.body.expires_in >= 119,
          `expires_in ${refreshed.body.expires_in as number}`,
        );
      }
    }
  });

  it('an idle session ends: a handle unused past the idle limit is refused', async () => {
    const { login } = await signIn(server, name('ida'), { register: true, transport: 'body' });
    clock.advance(3_600_000);
    const late = await new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    assert.equal(late.body.code, 'refresh_token_invalid');
  });

  it('logout kills the access token and the refresh handle at once, and clears the cookie', async () => {
    const { browser, api } = await signIn(server, name('jo'), { register: true });
    const logout = await api.post('/auth/logout');
    assert.equal(logout.status, 204);
    assert.match(logout.headers.getSetCookie().join('\n'), new RegExp(`^${REFRESH_COOKIE}=; Path=/; Expires=Thu, 01 Jan 1970`));
    assert.equal((await api.get('/auth/me')).body.code, 'token_revoked');
    const refresh = await browser.post('/auth/refresh');
    assert.equal(refresh.status, 401);
    assert.equal(refresh.body.code, 'refresh_token_invalid');
  });

  it('device delete and password change end the other sessions: access tokens and refresh handles', async () => {
    const username = name('kim');
    const laptop = await signIn(server, username, { register: true, transport: 'body' });
    const phone = await signIn(server, username, { transport: 'body' });
    const tablet = await signIn(server, username, { transport: 'body' });

    assert.equal((await laptop.api.delete(`/auth/sessions/${phone.login.body.session.id}`)).status, 204);
    assert.equal((await phone.api.get('/auth/me')).body.code, 'token_revoked');
    assert.equal((await new Client(server.url).post('/auth/refresh', { refresh_token: phone.login.body.refresh_token })).status, 401);

    const changed = await laptop.api.post('/auth/password', { current_password: PASSWORD, new_password: 'a whole new password' });
    assert.equal(changed.status, 204);
    assert.equal((await tablet.api.get('/auth/me')).body.code, 'token_revoked');
    assert.equal((await new Client(server.url).post('/auth/refresh', { refresh_token: tablet.login.body.refresh_token })).status, 401);
    assert.equal((await laptop.api.get('/auth/me')).status, 200, "the caller's session stays");
    assert.equal((await new Client(server.url).post('/auth/refresh', { refresh_token: laptop.login.body.refresh_token })).status, 200);
  });

  it('attack: a forged secret on a real session id is refused and revokes nothing', async () => {
    const { login, api } = await signIn(server, name('lu'), { register: true, transport: 'body' });
    const forged = `${login.body.session.id as string}.${'A'.repeat(43)}`;
    const attempt = await new Client(server.url).post('/auth/refresh', { refresh_token: forged });
    assert.equal(attempt.status, 401);
    assert.equal(attempt.body.code, 'refresh_token_invalid');
    assert.equal((await api.get('/auth/me')).status, 200, 'the session half of a handle is public: knowing it proves nothing');
    assert.equal((await new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token })).status, 200);
  });

  it('attack: a cross-site page cannot spend the refresh cookie (CSRF), and garbage is refused before the store', async () => {
    const { browser } = await signIn(server, name('mo'), { register: true });
    const crossSite = await browser.post('/auth/refresh', undefined, { origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.body.code, 'csrf');
    assert.equal((await browser.post('/auth/refresh', undefined, { origin: server.url })).status, 200, 'same origin is fine');
    for (const junk of [42, 'x'.repeat(5_000), 'not a handle']) {
      const response = await new Client(server.url).post('/auth/refresh', { refresh_token: junk });
      assert.ok(response.status === 400 || response.status === 401, `${response.status}`);
    }
    assert.equal((await new Client(server.url).post('/auth/refresh')).body.code, 'refresh_token_invalid', 'no handle at all');
  });

  it('attack: login CSRF, a cross-site page planting its session cookie, is refused; body transport sets no cookie and is allowed', async () => {
    const username = name('ned');
    await new Client(server.url).post('/auth/register', { username, password: PASSWORD });
    const evil = { origin: 'https://evil.example' };
    const planted = await new Client(server.url).post('/auth/login', { username, password: PASSWORD }, evil);
    assert.equal(planted.status, 403);
    assert.equal(planted.body.code, 'csrf');
    assert.equal(planted.headers.getSetCookie().length, 0);
    const app = await new Client(server.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' }, evil);
    assert.equal(app.status, 200, 'nothing ambient is set, so nothing to forge');
    assert.equal(app.headers.getSetCookie().length, 0);
  });

  it('login validates transport', async () => {
    const response = await new Client(server.url).post('/auth/login', { username: 'x', password: 'y', transport: 'carrier pigeon' });
    assert.equal(response.status, 400);
  });
});

describe('hybrid across two instances sharing a Redis', () => {
  const redisFor = useRedis();
  const keysDir = mkdtempSync(join(tmpdir(), 'tessera-hybrid-keys-'));
  after(() => rmSync(keysDir, { recursive: true, force: true }));

  async function pair(t: TestContext) {
    const redis = redisFor(t);
    if (!redis) return undefined;
    const options = { strategy: 'hybrid', store: 'redis', redisUrl: redis.url, keysDir, issuer: 'https://id.test' } as const;
    const a = await startTestServer(options);
    const b = await startTestServer(options);
    t.after(async () => {
      await a.stop();
      await b.stop();
    });
    return [a, b] as const;
  }

  it('one handle refreshed at both instances at once: one rotation, the others keep the handle', async (t) => {
    const servers = await pair(t);
    if (!servers) return;
    const [a, b] = servers;
    const { login } = await signIn(a, name('nia'), { register: true, transport: 'body' });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        new Client((i % 2 ? a : b).url).post('/auth/refresh', { refresh_token: login.body.refresh_token }),
      ),
    );
    assertOneRotation(results, login.body.refresh_token as string);
    // Every new access token works at the other instance: one key directory, one issuer.
    assert.equal((await bearer(b, results[0]!.body.access_token as string).get('/auth/me')).status, 200);
  });

  it('logout at one instance kills the access token at the other before it answers', async (t) => {
    const servers = await pair(t);
    if (!servers) return;
    const [a, b] = servers;
    const { api, token } = await signIn(a, name('oz'), { register: true, transport: 'body' });
    const atB = bearer(b, token);
    assert.equal((await atB.get('/auth/me')).status, 200);
    assert.equal((await api.post('/auth/logout')).status, 204);
    assert.equal((await atB.get('/auth/me')).status, 401, 'the first request after the answer');
  });

  it('the hybrid request path sends no command to Redis (only the feed polls, on its own schedule)', async (t) => {
    const servers = await pair(t);
    if (!servers) return;
    const redis = redisFor(t)!;
    const { api } = await signIn(servers[0], name('pia'), { register: true, transport: 'body' });
    const commands = await commandsDuring(redis, async () => {
      for (let i = 0; i < 200; i++) assert.equal((await api.get('/auth/me')).status, 200);
    });
    assert.deepEqual([...withoutBackgroundCommands(commands, 200)], [], '200 authenticated requests, zero store commands');
  });
});

describe('the refresh cookie against cookie tossing (tessera serve, secure cookies)', () => {
  const HOST_COOKIE = '__Host-tessera-refresh';
  let server: ServerProcess;
  before(async () => {
    server = await spawnServerWithFreshData(['--log-level', 'warn']);
  });
  after(() => server.stop());

  /** A browser signed in to a new account: its refresh handle. */
  async function handleOf(username: string): Promise<string> {
    const browser = new Client(server.url);
    assert.equal((await browser.post('/auth/register', { username, password: PASSWORD })).status, 201);
    const login = await browser.post('/auth/login', { username, password: PASSWORD });
    const set = login.headers.getSetCookie().find((line) => line.startsWith(`${HOST_COOKIE}=`));
    // __Host-: Secure, Path=/ and no Domain, so no other site of the domain can set one of this name.
    assert.match(set ?? '', new RegExp(`^${HOST_COOKIE}=[\\w-]+\\.[\\w-]+; Max-Age=\\d+; Path=/; HttpOnly; Secure; SameSite=Lax$`));
    return browser.cookies.get(HOST_COOKIE)!;
  }
  const refreshWith = (cookie: string) => new Client(server.url, { cookie }).post('/auth/refresh');

  it('attack: a second refresh cookie (the attacker’s handle, or garbage, first) is refused: nothing is spent, swapped or cleared', async () => {
    const victim = name('victim');
    const owners = await handleOf(victim);
    const attackers = await handleOf(name('mallory'));
    for (const tossed of [attackers, 'garbage']) {
      const refused = await refreshWith(`${HOST_COOKIE}=${tossed}; ${HOST_COOKIE}=${owners}`);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'invalid_request');
      assert.deepEqual(refused.headers.getSetCookie(), [], 'no cookie set or cleared');
    }
    const renewed = await refreshWith(`${HOST_COOKIE}=${owners}`);
    assert.equal(renewed.status, 200, 'the owner’s handle was not spent');
    const me = await new Client(server.url, { authorization: `Bearer ${renewed.body.access_token as string}` }).get('/auth/me');
    assert.equal(me.body.user.username, victim);
    assert.equal((await refreshWith(`${HOST_COOKIE}=${attackers}`)).status, 200, 'nor was the attacker’s');
  });
});

/** All answered 200: one with a new handle (returned), the others with the handle they presented. */
function assertOneRotation(results: { status: number; body: Record<string, unknown> }[], presented: string): string {
  assert.deepEqual(
    results.map((result) => result.status),
    results.map(() => 200),
  );
  const successors = results.map((result) => result.body.refresh_token).filter((handle) => handle !== presented);
  assert.equal(successors.length, 1, 'one rotation');
  return successors[0] as string;
}
