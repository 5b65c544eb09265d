import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { problemHandler, requireAuth, tessera } from '../../packages/tessera-auth/src/adapters/express.js';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { useServer } from '../helpers/listen.js';

describe('stateless tokens carried by cookie (when configured)', () => {
  const store = createMemoryStore();
  const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
  const auth = createAuth({
    strategy: 'stateless',
    store,
    cookie: { secure: false },
    tokens: { keys, issuer: 'https://id.example', cookie: true },
  });
  const app = express();
  app.use(express.json());
  app.use(tessera(auth));
  app.post('/login', async (req, res) => {
    const { accessToken } = await req.auth.login({ id: (req.body as { id: string }).id, roles: ['user'] });
    res.json({ expires_in: accessToken?.expiresIn });
  });
  app.get('/me', requireAuth(), (req, res) => res.json({ id: req.auth.user?.id, scheme: req.auth.scheme }));
  app.post('/logout', async (req, res) => {
    await req.auth.logout();
    res.status(204).end();
  });
  app.post('/logout-all', requireAuth(), async (req, res) => {
    await req.auth.logoutAll();
    res.status(204).end();
  });
  app.use(problemHandler());
  const urlOf = useServer(app, () => store.close());

  it('login sets the token as an HttpOnly cookie that authenticates, and logout revokes and clears it', async () => {
    const browser = new Client(urlOf());
    const login = await browser.post('/login', { id: 'ana' });
    const cookie = login.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /^tessera=[\w-]+\.[\w-]+\.[\w-]+;/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /Max-Age=900/);
    assert.deepEqual((await browser.get('/me')).body, { id: 'ana', scheme: 'cookie' });
    const stolen = browser.cookies.get('tessera')!;
    assert.equal((await browser.post('/logout')).status, 204);
    assert.equal(browser.cookies.has('tessera'), false);
    const replay = new Client(urlOf());
    replay.cookies.set('tessera', stolen);
    assert.equal((await replay.get('/me')).body.code, 'token_revoked');
  });

  it('a cross-site POST carrying the token cookie is refused before it acts', async () => {
    const browser = new Client(urlOf());
    await browser.post('/login', { id: 'bo' });
    const forged = await browser.post('/logout-all', undefined, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, 'csrf');
    assert.equal((await browser.get('/me')).status, 200, 'nothing was revoked');
  });

  it('login from another origin is refused (login CSRF), and the bearer header still works and wins', async () => {
    const refused = await new Client(urlOf()).post('/login', { id: 'cy' }, { origin: 'https://evil.example' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.getSetCookie().length, 0);
    const browser = new Client(urlOf());
    await browser.post('/login', { id: 'cy' });
    const token = browser.cookies.get('tessera')!;
    const api = new Client(urlOf(), { authorization: `Bearer ${token}` });
    assert.deepEqual((await api.get('/me')).body, { id: 'cy', scheme: 'bearer' });
  });
});
