import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { problemHandler, tessera } from '../../packages/tessera-auth/src/adapters/express.js';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { Client } from '../helpers/http-client.js';
import { useServer } from '../helpers/listen.js';

/** `tessera(auth, { require })`: authentication and the check in one Express layer, for a router of protected routes. */
describe('Express adapter: tessera(auth, { require })', () => {
  const store = createMemoryStore();
  const auth = createAuth({ strategy: 'stateful', store, cookie: { secure: false } });
  const app = express();
  app.use(express.json());
  app.post('/login', tessera(auth), async (req, res) => {
    const { id, roles } = req.body as { id: string; roles: string[] };
    res.json(await req.auth.login({ id, name: id, roles }));
  });
  const admin = express.Router();
  admin.get('/who', (req, res) => res.json({ id: req.auth.user?.id }));
  app.use('/admin', tessera(auth, { require: { roles: ['admin'] } }), admin);
  app.get('/me', tessera(auth, { require: true }), (req, res) => res.json({ id: req.auth.user?.id }));
  app.use(problemHandler());
  const urlOf = useServer(app, () => store.close());

  it('answers 401 without a session, 403 without the role, and lets the right user through', async () => {
    const anonymous = new Client(urlOf());
    assert.equal((await anonymous.get('/me')).status, 401);
    assert.equal((await anonymous.get('/admin/who')).body.code, 'unauthenticated');

    const user = new Client(urlOf());
    assert.equal((await user.post('/login', { id: 'ana', roles: ['user'] })).status, 200);
    assert.deepEqual((await user.get('/me')).body, { id: 'ana' });
    const refused = await user.get('/admin/who');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'forbidden');

    const root = new Client(urlOf());
    assert.equal((await root.post('/login', { id: 'root', roles: ['admin'] })).status, 200);
    assert.deepEqual((await root.get('/admin/who')).body, { id: 'root' });
  });
});
