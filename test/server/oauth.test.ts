import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { parseService } from '../../packages/tessera-auth-server/src/server/service-grants.js';
import { createRemoteKeySet, createVerifier } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const SECRET = 'a-client-secret-of-at-least-32-characters';
let serial = 0;
const name = (prefix: string) => `${prefix}${process.pid}x${++serial}`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** A form-encoded OAuth call, as RFC 7662 and RFC 7009 clients send it. */
async function oauth(
  server: TestServer,
  path: string,
  form: Record<string, string>,
  authorization: string | null = basic('gateway', SECRET),
) {
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization && { authorization }) },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

async function signIn(server: TestServer) {
  const username = name('ana');
  const client = new Client(server.url);
  assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201);
  const login = await client.post('/auth/login', { username, password: PASSWORD, transport: 'body' });
  const api = new Client(server.url, { authorization: `Bearer ${login.body.access_token}` });
  return { username, login, api, token: login.body.access_token as string, handle: login.body.refresh_token as string };
}

describe('service tokens, introspection and revocation (hybrid)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      strategy: 'hybrid',
      clients: [parseClient(`gateway:${SECRET}`)],
      services: [parseService('orders orders:read orders:write')],
    });
  });
  after(() => server.stop());

  it('a service token is bound to its audience: accepted there, refused by another service and by this server', async () => {
    const { api, username } = await signIn(server);
    const minted = await api.post('/auth/token', { audience: 'orders', scope: 'orders:read orders:read' });
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    assert.deepEqual([minted.body.token_type, minted.body.expires_in, minted.body.scope], ['Bearer', 60, 'orders:read']);
    assert.equal(minted.headers.get('cache-control'), 'no-store');

    const remote = createRemoteKeySet({ url: `${server.url}/.well-known/jwks.json` });
    await remote.refresh();
    const verifierFor = (audience: string) => createVerifier({ keys: remote.ring, typ: 'at+jwt', issuer: server.url, audience });
    const claims = verifierFor('orders')(minted.body.access_token);
    assert.deepEqual([claims.aud, claims.name, claims.scope], ['orders', username, 'orders:read']);
    assert.throws(() => verifierFor('billing')(minted.body.access_token), { code: 'token_claim_invalid' });
    const here = await new Client(server.url, { authorization: `Bearer ${minted.body.access_token}` }).get('/auth/me');
    assert.equal(here.status, 401, 'not an access token for the identity server');
    assert.equal(here.body.code, 'token_claim_invalid');
  });

  it('service-token requests are validated and need a signed-in user', async () => {
    const { api } = await signIn(server);
    for (const bad of [
      {},
      { audience: '' },
      { audience: 'has space' },
      { audience: server.url },
      { audience: 'orders', scope: 'a"b' },
      { audience: 'orders', scope: 7 },
    ]) {
      const response = await api.post('/auth/token', bad);
      assert.equal(response.status, 400, JSON.stringify(bad));
    }
    assert.equal((await new Client(server.url).post('/auth/token', { audience: 'orders' })).status, 401);
  });

  it('a user gets tokens only for configured services, with only the scopes each grants', async () => {
    const { api } = await signIn(server);
    for (const [request, code] of [
      [{ audience: 'billing' }, 'invalid_target'],
      [{ audience: 'https://orders' }, 'invalid_target'],
      [{ audience: 'orders', scope: 'admin:all root' }, 'invalid_scope'],
      [{ audience: 'orders', scope: 'orders:read admin:all' }, 'invalid_scope'],
    ] as const) {
      const refused = await api.post('/auth/token', request);
      assert.deepEqual([refused.status, refused.body.code], [400, code], JSON.stringify(request));
    }
    const granted = await api.post('/auth/token', { audience: 'orders', scope: 'orders:write orders:read' });
    assert.deepEqual([granted.status, granted.body.scope], [200, 'orders:write orders:read']);
  });

  it('introspection needs an authenticated client; unknown id and wrong secret fail alike', async () => {
    const { token } = await signIn(server);
    const none = await oauth(server, '/oauth/introspect', { token }, null);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('content-type'), 'application/json; charset=utf-8', 'RFC 6749 §5.2 JSON, not problem+json');
    assert.deepEqual(none.body, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="tessera"');
    const wrong = await oauth(server, '/oauth/introspect', { token }, basic('gateway', `${SECRET}x`));
    const unknown = await oauth(server, '/oauth/introspect', { token }, basic('nobody', SECRET));
    assert.deepEqual([wrong.status, unknown.status], [401, 401]);
    assert.deepEqual(wrong.body, unknown.body);
    const post = await oauth(server, '/oauth/introspect', { token, client_id: 'gateway', client_secret: SECRET }, null);
    assert.equal(post.body?.active, true, 'client_secret_post works too');
    const missing = await oauth(server, '/oauth/introspect', {});
    assert.deepEqual([missing.status, missing.body?.error], [400, 'invalid_request'], 'token is required');
    assert.equal(
      (await oauth(server, '/oauth/introspect', { token: 'x'.repeat(9_000) })).status,
      400,
      'oversized tokens are refused before any decoding',
    );
    const huge = await oauth(server, '/oauth/introspect', { token: 'x'.repeat(20_000) });
    assert.deepEqual([huge.status, huge.body?.error], [413, 'invalid_request'], 'a body over the limit');
  });

  it('introspection: live tokens and handles are active with their claims; dead ones are {"active":false} and nothing else', async () => {
    const { token, handle, username, api, login } = await signIn(server);
    const access = await oauth(server, '/oauth/introspect', { token });
    assert.equal(access.headers.get('cache-control'), 'no-store');
    assert.equal(access.headers.get('pragma'), 'no-cache');
    assert.deepEqual(
      [access.body?.active, access.body?.token_type, access.body?.client_id, access.body?.username, access.body?.sid, access.body?.aud],
      [true, 'Bearer', 'tessera', username, login.body.session.id, server.url],
    );
    const refresh = await oauth(server, '/oauth/introspect', { token: handle, token_type_hint: 'refresh_token' });
    assert.deepEqual(
      [refresh.body?.active, refresh.body?.token_type, refresh.body?.client_id, refresh.body?.sid],
      [true, undefined, 'tessera', login.body.session.id],
    );
    const service = (await api.post('/auth/token', { audience: 'orders' })).body.access_token as string;
    assert.equal((await oauth(server, '/oauth/introspect', { token: service })).body?.active, true);

    // A spent handle, garbage, a forged signature: inactive.
    const rotated = await new Client(server.url).post('/auth/refresh', { refresh_token: handle });
    const forged = `${token.slice(0, -4)}AAAA`;
    for (const dead of [handle, 'garbage', forged, `${login.body.session.id}.${'A'.repeat(43)}`]) {
      assert.deepEqual((await oauth(server, '/oauth/introspect', { token: dead })).body, { active: false });
    }
    // After logout: the access token, the service token and the current handle all die.
    const current = new Client(server.url, { authorization: `Bearer ${rotated.body.access_token}` });
    assert.equal((await current.post('/auth/logout')).status, 204);
    for (const dead of [token, service, rotated.body.refresh_token as string]) {
      assert.deepEqual((await oauth(server, '/oauth/introspect', { token: dead })).body, { active: false });
    }
  });

  it('revoking a refresh handle ends its session and its access tokens (RFC 7009)', async () => {
    const { token, handle, api } = await signIn(server);
    const revoked = await oauth(server, '/oauth/revoke', { token: handle, token_type_hint: 'refresh_token' });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body, null);
    assert.equal((await api.get('/auth/me')).body.code, 'token_revoked');
    assert.deepEqual((await oauth(server, '/oauth/introspect', { token })).body, { active: false });
    assert.equal((await new Client(server.url).post('/auth/refresh', { refresh_token: handle })).status, 401);
  });

  it('revoking an access token kills that token only; unknown tokens are a 200 too', async () => {
    const { token, handle, api } = await signIn(server);
    assert.equal((await oauth(server, '/oauth/revoke', { token })).status, 200);
    assert.equal((await api.get('/auth/me')).body.code, 'token_revoked');
    const renewed = await new Client(server.url).post('/auth/refresh', { refresh_token: handle });
    assert.equal(renewed.status, 200, 'the session lives on');
    assert.equal((await new Client(server.url, { authorization: `Bearer ${renewed.body.access_token}` }).get('/auth/me')).status, 200);
    assert.equal((await oauth(server, '/oauth/revoke', { token: 'never issued' })).status, 200);
    assert.equal((await oauth(server, '/oauth/revoke', { token }, basic('gateway', 'wrong'))).status, 401, 'clients only');
  });
});

describe('service tokens from a stateful session', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      strategy: 'stateful',
      clients: [parseClient(`gateway:${SECRET}`)],
      services: [parseService('orders')],
    });
  });
  after(() => server.stop());

  it('the session cookie buys a service token, which dies when the session ends', async () => {
    const browser = new Client(server.url, { origin: server.url });
    const username = name('bo');
    await browser.post('/auth/register', { username, password: PASSWORD });
    await browser.post('/auth/login', { username, password: PASSWORD });
    const minted = await browser.post('/auth/token', { audience: 'orders' });
    assert.equal(minted.status, 200);
    const crossSite = await browser.post('/auth/token', { audience: 'orders' }, { origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403, 'a cookie-authenticated mint passes the CSRF guard');
    assert.equal((await oauth(server, '/oauth/introspect', { token: minted.body.access_token })).body?.active, true);
    await browser.post('/auth/logout');
    assert.deepEqual((await oauth(server, '/oauth/introspect', { token: minted.body.access_token })).body, { active: false });
  });
});

it('a server with no configured services issues no service tokens', async () => {
  const server = await startTestServer({ strategy: 'hybrid' });
  try {
    const { api } = await signIn(server);
    const refused = await api.post('/auth/token', { audience: 'orders' });
    assert.deepEqual([refused.status, refused.body.code], [400, 'invalid_target']);
  } finally {
    await server.stop();
  }
});

it('--service is an audience and the scopes it grants; anything else is refused at startup', () => {
  assert.deepEqual(parseService(' orders  orders:read orders:read '), { audience: 'orders', scopes: ['orders:read'] });
  assert.deepEqual(parseService('https://billing.internal'), { audience: 'https://billing.internal', scopes: [] });
  for (const bad of ['', 'orders a,b', 'orders "quoted"', `${'a'.repeat(257)}`])
    assert.throws(() => parseService(bad), /A service is/, bad);
});

it('--client secrets shorter than 32 characters are refused at startup', () => {
  assert.throws(() => parseClient('gateway:short'), /at least 32 characters/);
  assert.throws(() => parseClient(':' + SECRET), /ID:SECRET/);
  assert.equal(parseClient(`gateway:${SECRET}`).secretHash?.length, 32, 'only a digest is kept');
});
