import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { problemHandler, requireAuth, tessera } from '../../packages/tessera-auth/src/adapters/express.js';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { ConfigError } from '../../packages/tessera-auth/src/base/errors.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { useServer } from '../helpers/listen.js';

describe('Express adapter', () => {
  const store = createMemoryStore();
  const auth = createAuth({ strategy: 'stateful', store, cookie: { secure: false } });
  const app = express();
  app.use(express.json());
  app.use(tessera(auth));
  app.post('/login', async (req, res) => {
    const { id, roles } = req.body as { id: string; roles: string[] };
    res.json(await req.auth.login({ id, name: id, roles }));
  });
  app.get('/admin', requireAuth({ roles: ['admin'] }), (req, res) => res.json({ hello: req.auth.user?.id }));
  app.post('/cart', requireAuth(), async (req, res) => {
    const item = (req.body as { item: number }).item;
    const data = await req.auth.updateData((current) => ({ ...current, cart: [...((current.cart as number[]) ?? []), item] }));
    res.json(data);
  });
  app.get('/cart', requireAuth(), (req, res) => res.json(req.auth.session?.data ?? {}));
  app.post('/promote', requireAuth(), async (req, res) => {
    const user = req.auth.user!;
    res.json(await req.auth.rotate({ ...user, roles: [...user.roles, 'admin'] }));
  });
  app.use(problemHandler());

  const urlOf = useServer(app, () => store.close());

  it('requireAuth answers 401 to the anonymous and 403 to the wrong role, as problem+json', async () => {
    const anonymous = await new Client(urlOf()).get('/admin');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthenticated');
    assert.equal(anonymous.headers.get('content-type'), 'application/problem+json');

    const user = new Client(urlOf());
    await user.post('/login', { id: 'u1', roles: ['user'] });
    const forbidden = await user.get('/admin');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'forbidden');

    const admin = new Client(urlOf());
    await admin.post('/login', { id: 'u2', roles: ['admin'] });
    assert.deepEqual((await admin.get('/admin')).body, { hello: 'u2' });
  });

  it('twenty concurrent add-to-cart requests on one session all land', async () => {
    const shopper = new Client(urlOf());
    await shopper.post('/login', { id: 'shopper', roles: [] });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, item) => shopper.post('/cart', { item })));
    assert.ok(answers.every((a) => a.status === 200));
    const cart = (await shopper.get('/cart')).body.cart as number[];
    assert.deepEqual(
      [...cart].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('a privilege change rotates the id: the old cookie is dead, the new one carries the role', async () => {
    const client = new Client(urlOf());
    await client.post('/login', { id: 'climber', roles: ['user'] });
    const before = client.cookies.get('tessera');
    assert.equal((await client.post('/promote')).status, 200);
    assert.notEqual(client.cookies.get('tessera'), before);
    assert.equal((await client.get('/admin')).status, 200);
    const stale = new Client(urlOf());
    stale.cookies.set('tessera', before!);
    assert.equal((await stale.get('/admin')).status, 401);
  });

  it('configuration mistakes fail at startup with a coded error', () => {
    assert.throws(() => createAuth({ strategy: 'stateful', store, cookie: { secure: false, name: '__Host-sid' } }), ConfigError);
    assert.throws(() => createAuth({ strategy: 'stateful', store, session: { idleTimeout: -1 } }), { code: 'invalid_config' });
    assert.throws(() => createAuth({ strategy: 'stateful', store, csrf: { trustedOrigins: ['not a url'] } }), { code: 'invalid_config' });
    assert.throws(() => createAuth({ strategy: 'bogus' as 'stateful', store }), { code: 'invalid_config' });
    // DPoP binds tokens presented in the Authorization header: not stateful sessions, not cookie-carried tokens.
    const tokens = { keys: createKeyRing([]), issuer: 'https://id.example', dpop: { mode: 'required' } } as const;
    assert.throws(() => createAuth({ strategy: 'stateful', store, tokens }), /stateless and hybrid/);
    assert.throws(() => createAuth({ strategy: 'stateless', store, tokens: { ...tokens, cookie: true } }), /turn tokens.cookie off/);
    assert.throws(
      () => createAuth({ strategy: 'hybrid', store, tokens: { ...tokens, issuer: 'not-a-url' } }),
      /must be a URL: DPoP proofs name it/,
    );
    assert.throws(() => createAuth({ strategy: 'hybrid', store, tokens: { ...tokens, dpop: { mode: 'on' as 'required' } } }), {
      code: 'invalid_config',
    });
  });
});
