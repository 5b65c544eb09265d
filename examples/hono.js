// The hybrid strategy on Hono (here on Node through @hono/node-server; the same app runs on Bun,
// Deno and edge runtimes): `node examples/hono.js`.
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { createAuth } from 'tessera-auth';
import { problemHandler, refreshTokens, requireAuth, tessera } from 'tessera-auth/hono';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { openKeyDirectory } from 'tessera-auth/tokens';

const keys = openKeyDirectory(process.env.KEYS ?? './.tessera/example-keys', { createIfEmpty: 'EdDSA' });
const auth = createAuth({
  strategy: 'hybrid',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example-hono.db' }),
  cookie: { secure: false }, // plain-http development only
  tokens: { keys: keys.ring, issuer: 'https://api.example' },
});
const ip = (c) => getConnInfo(c).remote.address ?? '';

const app = new Hono();
app.onError(problemHandler());
app.post('/auth/refresh', refreshTokens(auth, { ip })); // before tessera(): an expired token must not block it
app.use(tessera(auth, { ip }));
app.post('/login', async (c) => {
  const { username, transport } = await c.req.json();
  // Check the password your way; then:
  const { accessToken, refreshToken } = await c.get('auth').login({ id: username, name: username, roles: ['reader'] }, { transport });
  return c.json({ access_token: accessToken.token, expires_in: accessToken.expiresIn, refresh_token: refreshToken });
});
app.get('/articles', requireAuth({ roles: ['reader'] }), (c) => c.json({ for: c.get('auth').user.id, articles: [] }));
app.post('/logout', async (c) => {
  await c.get('auth').logout(); // the session, its handle and its access tokens die now
  return c.body(null, 204);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3005), hostname: '127.0.0.1' }, (info) => {
  console.log(`hono listening on http://127.0.0.1:${info.port}`);
});
