// The stateless strategy on Hono, with the memory store (one process): `node examples/hono-stateless.js`.
// npm install tessera-auth hono @hono/node-server
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createAuth } from 'tessera-auth';
import { problemHandler, requireAuth, tessera } from 'tessera-auth/hono';
import { createMemoryStore } from 'tessera-auth/memory';
import { openKeyDirectory } from 'tessera-auth/tokens';

const keys = openKeyDirectory(process.env.KEYS ?? './.tessera/example-keys', { createIfEmpty: 'EdDSA' });
const auth = createAuth({
  strategy: 'stateless',
  store: createMemoryStore(),
  tokens: { keys: keys.ring, issuer: 'https://api.example' },
});

const app = new Hono(); // in TypeScript: new Hono<TesseraEnv>(), and c.get('auth') is typed
app.onError(problemHandler({ onError: auth.onError }));
app.use(tessera(auth));
app.post('/login', async (c) => {
  const { username } = await c.req.json();
  // Check the password your way; then:
  const { accessToken } = await c.get('auth').login({ id: username, name: username, roles: ['reader'] });
  return c.json({ access_token: accessToken.token, token_type: 'Bearer', expires_in: accessToken.expiresIn });
});
app.get('/articles', requireAuth({ roles: ['reader'] }), (c) => c.json({ for: c.get('auth').user.id, articles: [] }));
app.post('/logout', requireAuth(), async (c) => {
  await c.get('auth').logout(); // the token is refused from now on, by every instance sharing the store
  return c.body(null, 204);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3006), hostname: '127.0.0.1' }, (info) => {
  console.log(`hono (stateless) listening on http://127.0.0.1:${info.port}`);
});
