import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import * as openid from 'openid-client';
import { digest, type OAuthClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { parseService } from '../../packages/tessera-auth-server/src/server/service-grants.js';
import { createTokenIssuer, openKeyDirectory } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { authorizationPath, pkce, tokenRequest } from '../helpers/oauth.js';
import { useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const SECRET_A = 'a'.repeat(40);
const SECRET_B = 'b'.repeat(40);
const CALLBACK = 'https://app.example/callback';
const CLIENTS: OAuthClient[] = [
  {
    id: 'app-a',
    secretHash: digest(SECRET_A),
    name: 'App A',
    redirectUris: [CALLBACK],
    postLogoutRedirectUris: ['https://app.example/bye'],
    grantTypes: ['authorization_code', 'refresh_token'],
  },
  {
    id: 'app-b',
    secretHash: digest(SECRET_B),
    name: 'B <script>"&',
    redirectUris: ['https://b.example/cb'],
    grantTypes: ['authorization_code', 'refresh_token'],
  },
  { id: 'native', redirectUris: ['com.example.app:/callback', 'http://127.0.0.1/callback'], grantTypes: ['authorization_code'] },
];

/** These suites fail on purpose hundreds of times; the token endpoint's throttle has its own test below. */
const MANY_GUESSES = {
  perAccountAndClient: { free: 10_000, maxDelayMs: 60_000, windowMs: 60_000 },
  perClient: { max: 10_000, windowMs: 60_000 },
};
const APP_A = { id: 'app-a', secret: SECRET_A };
const APP_B = { id: 'app-b', secret: SECRET_B };

/** The authorization code flow's checks, each attacked, against a real hybrid server. */
describe('OAuth authorization code flow: attacks', () => {
  let server: TestServer;
  let browser: Client; // the user's browser: signed in, its refresh cookie in the jar
  let username: string;

  before(async () => {
    server = await startTestServer({ strategy: 'hybrid', clients: CLIENTS, loginThrottle: MANY_GUESSES });
    username = `olga${process.pid}`;
    browser = new Client(server.url);
    await browser.post('/auth/register', { username, password: PASSWORD });
    assert.equal((await browser.post('/auth/login', { username, password: PASSWORD }, { origin: server.url })).status, 200);
  });
  after(() => server.stop());

  const request = (overrides: Record<string, string | undefined> = {}) => {
    const { verifier, challenge } = pkce();
    const parameters = {
      client_id: 'app-a',
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid profile',
      state: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...overrides,
    };
    return { parameters, verifier, url: authorizationPath(parameters) };
  };
  /** A code for the signed-in browser: the redirect's query. */
  const authorize = async (overrides: Record<string, string | undefined> = {}, from = browser) => {
    const sent = request(overrides);
    const answer = await from.get(sent.url);
    assert.equal(answer.status, 303, JSON.stringify(answer.body));
    const location = new URL(answer.headers.get('location')!);
    return { ...sent, location, code: location.searchParams.get('code') };
  };
  const redeem = (code: string | null, verifier: string, client = APP_A, redirectUri = CALLBACK) =>
    tokenRequest(
      server.url,
      { grant_type: 'authorization_code', code: code ?? '', code_verifier: verifier, redirect_uri: redirectUri },
      client,
    );
  const refresh = (token: string, client = APP_A) =>
    tokenRequest(server.url, { grant_type: 'refresh_token', refresh_token: token }, client);
  const active = async (token: string) => {
    const me = await new Client(server.url).get('/auth/me', { authorization: `Bearer ${token}` });
    return me.status === 200;
  };

  it('a signed-in browser goes straight back with a code, its state and the issuer (RFC 9207); the code redeems once', async () => {
    const { location, code, verifier, parameters } = await authorize();
    assert.equal(location.origin + location.pathname, CALLBACK);
    assert.equal(location.searchParams.get('state'), parameters.state);
    assert.equal(location.searchParams.get('iss'), server.url);
    const tokens = await redeem(code, verifier);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.token_type, 'Bearer');
    assert.ok(tokens.body.refresh_token);
    const claims = jose.decodeJwt(tokens.body.access_token!);
    assert.equal(claims.client_id, 'app-a');
    const idToken = jose.decodeJwt(tokens.body.id_token!);
    assert.deepEqual([idToken.aud, idToken.nonce, idToken.sid], ['app-a', parameters.nonce, claims.sid]);
    // RS256, which OpenID Connect requires of every provider; at_hash under its hash (Core §3.1.3.6).
    assert.equal(jose.decodeProtectedHeader(tokens.body.id_token!).alg, 'RS256');
    const hash = createHash('sha256').update(tokens.body.access_token!).digest();
    assert.equal(idToken.at_hash, hash.subarray(0, 16).toString('base64url'));
    assert.equal(await active(tokens.body.access_token!), true);
  });

  it('without state and nonce (PKCE stands in for state): the answer carries no state, the ID token no nonce; mix-up: every answer names the issuer', async () => {
    const { location, code, verifier } = await authorize({ state: undefined, nonce: undefined });
    assert.equal(location.searchParams.has('state'), false);
    assert.equal(location.searchParams.get('iss'), server.url);
    const tokens = await redeem(code, verifier);
    assert.equal(tokens.status, 200);
    assert.equal(jose.decodeJwt(tokens.body.id_token!).nonce, undefined);
    // An empty state is no state; a repeated one is refused, with the error at the client.
    const repeated = await browser.get(`${request().url}&state=again`);
    const refused = new URL(repeated.headers.get('location')!);
    assert.deepEqual([refused.searchParams.get('error'), refused.searchParams.get('iss')], ['invalid_request', server.url]);
  });

  it('PKCE: a request without a challenge, or with plain, is refused at the redirect URI; a wrong verifier is invalid_grant', async () => {
    for (const overrides of [{ code_challenge: undefined, code_challenge_method: undefined }, { code_challenge_method: 'plain' }]) {
      const { location } = await authorize(overrides);
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.equal(location.searchParams.get('code'), null);
      assert.equal(location.searchParams.get('iss'), server.url);
    }
    const { code } = await authorize();
    const wrong = await redeem(code, pkce().verifier);
    assert.deepEqual([wrong.status, wrong.body.error], [400, 'invalid_grant']);
    const missing = await redeem(code, '');
    assert.deepEqual([missing.status, missing.body.error], [400, 'invalid_request']);
  });

  it('a replayed code is refused and revokes the tokens its first use gave', async () => {
    const { code, verifier } = await authorize();
    const first = await redeem(code, verifier);
    assert.equal(first.status, 200);
    const replay = await redeem(code, verifier);
    assert.deepEqual([replay.status, replay.body.error], [400, 'invalid_grant']);
    assert.equal(await active(first.body.access_token!), false, 'the access token died with the replay');
    assert.equal((await refresh(first.body.refresh_token!)).body.error, 'invalid_grant', 'and the refresh token');
  });

  it('a code redeemed twice at once: at most one answer carries tokens, and they are dead once both have answered (30 trials)', async () => {
    for (let trial = 0; trial < 30; trial++) {
      const { code, verifier } = await authorize();
      const answers = await Promise.all([redeem(code, verifier), redeem(code, verifier)]);
      const won = answers.filter((answer) => answer.status === 200);
      assert.ok(won.length <= 1, `trial ${trial}: ${won.length} redemptions succeeded`);
      for (const answer of won) {
        assert.equal(await active(answer.body.access_token!), false, `trial ${trial}: the winner's token outlived the replay`);
      }
    }
  });

  it("client B cannot redeem client A's code, nor renew A's refresh token (and A's still renews)", async () => {
    const { code, verifier } = await authorize();
    const stolen = await redeem(code, verifier, APP_B, CALLBACK);
    assert.deepEqual([stolen.status, stolen.body.error], [400, 'invalid_grant']);
    const { code: code2, verifier: verifier2 } = await authorize();
    const tokens = await redeem(code2, verifier2);
    assert.equal(tokens.status, 200);
    const hijack = await refresh(tokens.body.refresh_token!, APP_B);
    assert.deepEqual([hijack.status, hijack.body.error], [400, 'invalid_grant']);
    const renewed = await refresh(tokens.body.refresh_token!);
    assert.equal(renewed.status, 200, 'the refused attempt rotated nothing');
    assert.equal(jose.decodeJwt(renewed.body.access_token!).client_id, 'app-a');
    // A first-party refresh handle is no OAuth refresh token, and the other way round.
    const firstParty = (await new Client(server.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' })).body;
    assert.equal((await refresh(firstParty.refresh_token as string)).body.error, 'invalid_grant');
    const asFirstParty = await new Client(server.url).post('/auth/refresh', { refresh_token: renewed.body.refresh_token });
    assert.equal(asFirstParty.status, 401);
  });

  it('a code is bound to its redirect URI and client; a wrong secret is invalid_client', async () => {
    const { code, verifier } = await authorize();
    const elsewhere = await redeem(code, verifier, undefined, 'https://app.example/other');
    assert.equal(elsewhere.body.error, 'invalid_grant');
    const wrongSecret = await redeem(code, verifier, { ...APP_A, secret: SECRET_B });
    assert.deepEqual([wrongSecret.status, wrongSecret.body.error], [401, 'invalid_client']);
    assert.equal((await redeem('forged' + code, verifier)).body.error, 'invalid_grant');
  });

  it('an unregistered or altered redirect URI, or an unknown client, is answered here: never redirected (no open redirect)', async () => {
    for (const overrides of [
      { redirect_uri: 'https://evil.example/callback' },
      { redirect_uri: `${CALLBACK}/../../evil` },
      { redirect_uri: `${CALLBACK}?next=https://evil.example` },
      { redirect_uri: 'https://app.example/callback#x' },
      { client_id: 'nobody', redirect_uri: 'https://evil.example/callback' },
      { client_id: 'app-b', redirect_uri: CALLBACK },
      // The errors that would redirect, with a URI not registered: still answered here.
      { redirect_uri: 'https://evil.example/callback', response_type: 'token' },
      { redirect_uri: 'https://evil.example/callback', code_challenge: undefined },
    ]) {
      const answer = await browser.get(request(overrides).url);
      assert.equal(answer.status, 400, JSON.stringify(overrides));
      assert.equal(answer.headers.get('location'), null);
      assert.equal(answer.body.error, 'invalid_request');
    }
    // RFC 8252 §7.3: a loopback URI registered without a port takes any port; a private-use scheme exactly.
    for (const redirect_uri of ['http://127.0.0.1:49152/callback', 'com.example.app:/callback']) {
      const { location } = await authorize({ client_id: 'native', redirect_uri });
      assert.ok(location.href.startsWith(redirect_uri), location.href);
      assert.ok(location.searchParams.get('code'));
    }
    for (const redirect_uri of [
      'http://localhost:49152/callback',
      'http://127.0.0.1:49152/other',
      'http://127.0.0.1:49152@evil.example/callback',
      'com.example.app:/other',
    ]) {
      assert.equal((await browser.get(request({ client_id: 'native', redirect_uri }).url)).status, 400, redirect_uri);
    }
  });

  it('a public client redeems with its id and the verifier alone; a secret-less call for a confidential client is invalid_client', async () => {
    const { code, verifier } = await authorize({ client_id: 'native', redirect_uri: 'com.example.app:/callback' });
    const form = (fields: Record<string, string>) => tokenRequest(server.url, fields);
    const fields = { grant_type: 'authorization_code', code: code!, code_verifier: verifier, redirect_uri: 'com.example.app:/callback' };
    const tokens = await form({ ...fields, client_id: 'native' });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.refresh_token, undefined, 'not a grant this client may use');
    assert.equal((await form({ ...fields, client_id: 'app-a' })).body.error, 'invalid_client');
  });

  it('prompt=none without a session: login_required at the redirect URI, no page; with prompt=login a session is not enough', async () => {
    const stranger = new Client(server.url);
    const sent = request({ prompt: 'none' });
    const answer = await stranger.get(sent.url);
    assert.equal(answer.status, 303);
    const location = new URL(answer.headers.get('location')!);
    assert.deepEqual(
      [location.searchParams.get('error'), location.searchParams.get('state'), location.searchParams.get('iss')],
      ['login_required', sent.parameters.state, server.url],
    );
    const page = await browser.get(request({ prompt: 'login' }).url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /html/);
    assert.match(page.body as unknown as string, /<meta name="tessera-client" content="App A">/);
  });

  it('the sign-in page cannot be framed, and the client name in it is escaped', async () => {
    const page = await new Client(server.url).get(request({ client_id: 'app-b', redirect_uri: 'https://b.example/cb' }).url);
    assert.match(page.body as unknown as string, /content="B &lt;script&gt;&quot;&amp;"/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.match(page.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
  });

  it("a cross-site POST to the authorize decision, carrying the victim's cookies, gets no code", async () => {
    const answer = await browser.post('/oauth/authorize', { query: request().url.split('?')[1] }, { origin: 'https://evil.example' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'login_required');
    assert.equal(answer.body.redirect_to, undefined);
  });

  it('the page, signed in with a token, gets the way back; max_age older than the sign-in asks it again', async () => {
    const login = (await new Client(server.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' })).body;
    const bearer = { authorization: `Bearer ${login.access_token as string}` };
    const decided = await new Client(server.url).post('/oauth/authorize', { query: request().url.split('?')[1] }, bearer);
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.ok(new URL(decided.body.redirect_to as string).searchParams.get('code'));
    // max_age=0: a sign-in at least a round trip old is too old.
    const stale = await new Client(server.url).post('/oauth/authorize', { query: request({ max_age: '0' }).url.split('?')[1] }, bearer);
    assert.deepEqual([stale.status, stale.body.error], [400, 'login_required']);
  });

  it('every authorization is a session: in the device list by the client name, ended by logout everywhere and by device revocation', async () => {
    const { code, verifier } = await authorize();
    const tokens = await redeem(code, verifier);
    const me = new Client(server.url, { authorization: `Bearer ${tokens.body.access_token!}` });
    const listed = (await me.get('/auth/sessions')).body.sessions as { id: string; user_agent: string; current: boolean }[];
    const mine = listed.find((session) => session.current)!;
    assert.equal(mine.user_agent, 'App A');
    // Another authorization, ended from the device list by its id.
    const other = await authorize();
    const second = await redeem(other.code, other.verifier);
    const secondId = jose.decodeJwt(second.body.access_token!).sid as string;
    assert.equal((await me.delete(`/auth/sessions/${encodeURIComponent(secondId)}`)).status, 204);
    assert.equal(await active(second.body.access_token!), false);
    assert.equal((await refresh(second.body.refresh_token!)).body.error, 'invalid_grant');
    // Logout everywhere ends the OAuth sessions too (and the browser's).
    assert.equal((await me.post('/auth/logout-all')).status, 204);
    assert.equal(await active(tokens.body.access_token!), false);
    assert.equal((await refresh(tokens.body.refresh_token!)).body.error, 'invalid_grant');
    browser = new Client(server.url);
    await browser.post('/auth/login', { username, password: PASSWORD }, { origin: server.url });
  });

  it('RP-initiated logout takes only a signed ID token of this server, and redirects only where the client registered', async () => {
    const { code, verifier } = await authorize();
    const tokens = await redeem(code, verifier);
    const hint = tokens.body.id_token!;
    const logout = (query: Record<string, string>) => new Client(server.url).get(`/oauth/logout?${new URLSearchParams(query)}`);
    const forged = `${hint.split('.').slice(0, 2).join('.')}.${Buffer.alloc(64).toString('base64url')}`;
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${hint.split('.')[1]}.`;
    // Signed with the server's own ID-token key, but two days ago: past the day a hint is taken.
    const idTokenKeys = openKeyDirectory(join(server.dataDir, 'keys', 'id-token'));
    const twoDaysAgo = { now: () => Date.now() - 2 * 86_400_000 };
    const stale = createTokenIssuer({ keys: idTokenKeys.ring, issuer: server.url, ttlSeconds: 300, typ: 'JWT', clock: twoDaysAgo }).issue({
      sub: jose.decodeJwt(hint).sub!,
      aud: 'app-a',
      claims: { sid: jose.decodeJwt(hint).sid },
    }).token;
    idTokenKeys.close();
    for (const query of <Record<string, string>[]>[
      {},
      { id_token_hint: forged },
      { id_token_hint: unsigned },
      { id_token_hint: stale },
      { id_token_hint: tokens.body.access_token! },
      { id_token_hint: hint, client_id: 'app-b' },
      { id_token_hint: hint, post_logout_redirect_uri: 'https://evil.example/bye' },
    ]) {
      const answer = await logout(query);
      assert.deepEqual(
        [answer.status, answer.body.error, answer.headers.get('location')],
        [400, 'invalid_request', null],
        JSON.stringify(query),
      );
    }
    assert.equal(await active(tokens.body.access_token!), true, 'none of them ended the session');
    const done = await logout({ id_token_hint: hint, post_logout_redirect_uri: 'https://app.example/bye', state: 's1' });
    assert.deepEqual([done.status, done.headers.get('location')], [303, 'https://app.example/bye?state=s1']);
    assert.equal(await active(tokens.body.access_token!), false);
    assert.equal((await refresh(tokens.body.refresh_token!)).body.error, 'invalid_grant');
  });

  it('a password change after the authorization and before the redemption: the code gives nothing', async () => {
    const { code, verifier } = await authorize();
    const login = (await new Client(server.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' })).body;
    const user = new Client(server.url, { authorization: `Bearer ${login.access_token as string}` });
    assert.equal((await user.post('/auth/password', { current_password: PASSWORD, new_password: `${PASSWORD}!` })).status, 204);
    const late = await redeem(code, verifier);
    assert.deepEqual([late.status, late.body.error], [400, 'invalid_grant']);
    assert.equal((await user.post('/auth/password', { current_password: `${PASSWORD}!`, new_password: PASSWORD })).status, 204);
    browser = new Client(server.url);
    await browser.post('/auth/login', { username, password: PASSWORD }, { origin: server.url });
  });
});

/** Two instances sharing Redis: a code from one redeems at the other, once, whichever is first. */
describe('OAuth authorization code flow: two instances sharing Redis', () => {
  const redisOf = useRedis();
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  let dataDir = '';
  after(async () => {
    await a?.stop();
    await b?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a code redeemed at both at once (40 trials): at most one answer carries tokens, dead at both once both have answered', async (t) => {
    const redis = redisOf(t);
    if (!redis) return;
    // One data directory: the keys and the code-sealing secret the instances share.
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-oauth-'));
    const options = {
      strategy: 'hybrid',
      store: 'redis',
      redisUrl: redis.url,
      dataDir,
      clients: CLIENTS,
      loginThrottle: MANY_GUESSES,
    } as const;
    const [first, second] = [await startTestServer(options), await startTestServer(options)];
    [a, b] = [first, second];
    const username = `vera${process.pid}`;
    const browser = new Client(first.url);
    await browser.post('/auth/register', { username, password: PASSWORD });
    assert.equal((await browser.post('/auth/login', { username, password: PASSWORD }, { origin: first.url })).status, 200);
    const redeemAt = (server: TestServer, { code, verifier }: { code: string; verifier: string }) =>
      tokenRequest(server.url, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK }, APP_A);
    /** A code for the signed-in browser, from the first instance. */
    const authorized = async () => {
      const { verifier, challenge } = pkce();
      const path = authorizationPath({
        client_id: 'app-a',
        redirect_uri: CALLBACK,
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      return { verifier, code: new URL((await browser.get(path)).headers.get('location')!).searchParams.get('code')! };
    };
    const activeAt = async (server: TestServer, token: string) =>
      (await new Client(server.url).get('/auth/me', { authorization: `Bearer ${token}` })).status === 200;

    let won = 0;
    for (let trial = 0; trial < 40; trial++) {
      const code = await authorized();
      const answers = await Promise.all([redeemAt(first, code), redeemAt(second, code)]);
      const winners = answers.filter((answer) => answer.status === 200);
      assert.ok(winners.length <= 1, `trial ${trial}: ${winners.length} redemptions succeeded`);
      for (const winner of winners) {
        won++;
        for (const server of [first, second])
          assert.equal(await activeAt(server, winner.body.access_token!), false, `trial ${trial}: alive at ${server.url}`);
      }
    }
    t.diagnostic(`${won} of 40 trials handed out tokens (revoked by the replay); the others refused both`);
    // And without a race, the other instance redeems what this one issued.
    const tokens = await redeemAt(second, await authorized());
    assert.equal(tokens.status, 200);
    assert.equal(await activeAt(first, tokens.body.access_token!), true);
  });
});

/** The client credentials grant: a service's own token, for a configured service, with openid-client. */
describe('OAuth client credentials', () => {
  let server: TestServer;
  const SERVICE_SECRET = 'c'.repeat(40);
  before(async () => {
    server = await startTestServer({
      strategy: 'hybrid',
      services: [parseService('https://orders.internal orders:read orders:write'), parseService('billing billing:read')],
      clients: [
        ...CLIENTS,
        { id: 'batch', secretHash: digest(SERVICE_SECRET), grantTypes: ['client_credentials'], scopes: ['orders:read'] },
      ],
    });
  });
  after(() => server.stop());

  it('openid-client gets a token for a service; it verifies with the JWKS, introspects active, and dies when revoked', async () => {
    const config = await openid.discovery(new URL(server.url), 'batch', SERVICE_SECRET, openid.ClientSecretBasic(SERVICE_SECRET), {
      execute: [openid.allowInsecureRequests],
    });
    assert.ok(config.serverMetadata().grant_types_supported?.includes('client_credentials'));
    const tokens = await openid.clientCredentialsGrant(config, { resource: 'https://orders.internal', scope: 'orders:read' });
    assert.equal(tokens.scope, 'orders:read');
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload } = await jose.jwtVerify(tokens.access_token, jwks, {
      issuer: server.url,
      audience: 'https://orders.internal',
      typ: 'at+jwt',
    });
    assert.deepEqual([payload.sub, payload.client_id, payload.sid, payload.roles], ['batch', 'batch', undefined, undefined]);
    assert.equal((await openid.tokenIntrospection(config, tokens.access_token)).active, true);
    await openid.tokenRevocation(config, tokens.access_token);
    assert.equal((await openid.tokenIntrospection(config, tokens.access_token)).active, false);
  });

  it('refused: a scope the client did not register, a service not configured, the server itself, and clients without the grant', async () => {
    const batch = { id: 'batch', secret: SERVICE_SECRET };
    const ask = async (fields: Record<string, string>, client = batch) => {
      const { status, body } = await tokenRequest(server.url, { grant_type: 'client_credentials', ...fields }, client);
      return [status, body.error];
    };
    assert.deepEqual(await ask({ resource: 'https://orders.internal', scope: 'orders:write' }), [400, 'invalid_scope']);
    assert.deepEqual(await ask({ resource: 'billing', scope: 'billing:read' }), [400, 'invalid_scope']);
    assert.deepEqual(await ask({ resource: 'https://payments.internal' }), [400, 'invalid_target']);
    assert.deepEqual(await ask({ resource: server.url }), [400, 'invalid_request']);
    assert.deepEqual(await ask({ resource: 'billing' }, APP_A), [400, 'unauthorized_client']);
    // A service's own token is no user's: the identity server's account routes refuse it.
    const token = (await tokenRequest(server.url, { grant_type: 'client_credentials', resource: 'billing' }, batch)).body.access_token;
    assert.equal((await new Client(server.url).get('/auth/me', { authorization: `Bearer ${token}` })).status, 401);
  });
});

/** Guessing at the token endpoint is slowed like password guessing, per client and address. */
describe('OAuth token endpoint guessing', () => {
  let server: TestServer;
  before(async () => {
    // A first delay of a minute: the attempt after the one that starts it is refused however slow this machine is.
    server = await startTestServer({
      strategy: 'hybrid',
      clients: CLIENTS,
      loginThrottle: { perAccountAndClient: { free: 5, firstDelayMs: 60_000, maxDelayMs: 600_000, windowMs: 600_000 } },
    });
  });
  after(() => server.stop());

  it('past five free wrong secrets from one address, one attempt per delay (429 and Retry-After), the right secret too; other clients are not slowed', async () => {
    const ask = (secret: string, id = 'app-a') =>
      tokenRequest(server.url, { grant_type: 'refresh_token', refresh_token: 'nothing' }, { id, secret });
    for (let guess = 1; guess <= 5; guess++) assert.equal((await ask(`${SECRET_B}${guess}`)).status, 401, `guess ${guess}`);
    const sixth = await ask(`${SECRET_B}6`);
    assert.equal(sixth.status, 401, 'the sixth starts the delay');
    const waiting = await ask(SECRET_A);
    assert.equal(waiting.status, 429);
    assert.ok(Number(waiting.headers.get('retry-after')) > 50);
    assert.equal(waiting.body.error, 'temporarily_unavailable');
    // Another client from the same address is not slowed by app-a's guesses.
    assert.equal((await ask(SECRET_B, 'app-b')).body.error, 'invalid_grant');
  });

  it('one address guessing across client ids meets a limit of its own; another address is not slowed', async () => {
    const spread = await startTestServer({
      strategy: 'hybrid',
      clients: CLIENTS,
      trustProxy: 'loopback',
      loginThrottle: { perClient: { max: 3, windowMs: 600_000 } },
    });
    try {
      const guess = async (id: string, from: string) =>
        (
          await tokenRequest(
            spread.url,
            { grant_type: 'refresh_token', refresh_token: 'nothing' },
            { id, secret: 'x'.repeat(40) },
            { 'x-forwarded-for': from },
          )
        ).status;
      const statuses = [];
      for (const id of ['app-a', 'app-b', 'native', 'nobody']) statuses.push(await guess(id, '203.0.113.9'));
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      assert.equal(await guess('nobody', '198.51.100.9'), 401);
    } finally {
      await spread.stop();
    }
  });
});
