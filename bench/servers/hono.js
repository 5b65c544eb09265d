// The benchmark route on Hono (@hono/node-server): $AUTH=none (the framework's own ceiling) or
// tessera (stateless HS256 through tessera/hono, revocation list on).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createAuth, createMemoryStore } from 'tessera-auth';
import { requireAuth, tessera } from 'tessera-auth/hono';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';
import { USER } from './common.js';

const app = new Hono();
if (process.env.AUTH === 'tessera') {
  const jwk = generateJwk('HS256');
  const keys = createKeyRing([{ key: importKey({ alg: 'HS256', kid: jwk.kid, key: jwk }), status: 'active' }]);
  const auth = createAuth({
    strategy: 'stateless',
    store: createMemoryStore(),
    tokens: { keys, issuer: 'https://bench.example', accessTtl: 3600 },
  });
  await auth.ready();
  app.use(tessera(auth));
  app.post('/login', async (c) => c.json({ token: (await c.get('auth').login(USER, { transport: 'body' })).accessToken.token }));
  app.get('/me', requireAuth(), (c) => c.json({ id: c.get('auth').user.id }));
} else {
  app.post('/login', (c) => c.json({ ok: true }));
  app.get('/me', (c) => c.json({ id: USER.id }));
}
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => console.log('ready'));
server.keepAliveTimeout = 60_000;
