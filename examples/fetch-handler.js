// The fetch-standard adapter with no framework: one `(Request) => Response` handler, as Bun.serve,
// Deno.serve, Cloudflare Workers or a Next.js route handler take it. Node has no built-in fetch
// server, so this file serves it through @hono/node-server's bridge: `node examples/fetch-handler.js`.
import { serve } from '@hono/node-server';
import { createAuth } from 'tessera-auth';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { openKeyDirectory } from 'tessera-auth/tokens';
import { requireAuth, withTessera } from 'tessera-auth/web';

const keys = openKeyDirectory(process.env.KEYS ?? './.tessera/example-keys', { createIfEmpty: 'EdDSA' });
const auth = createAuth({
  strategy: 'stateless',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example-fetch.db' }),
  tokens: { keys: keys.ring, issuer: 'https://api.example' },
});

const handler = withTessera(auth, async (request, session) => {
  const { pathname } = new URL(request.url);
  if (request.method === 'POST' && pathname === '/login') {
    const { username } = await request.json(); // check the password your way first
    const { accessToken } = await session.login({ id: username, name: username, roles: ['reader'] });
    return Response.json({ access_token: accessToken.token, expires_in: accessToken.expiresIn });
  }
  if (request.method === 'GET' && pathname === '/articles') {
    const user = requireAuth(session, { roles: ['reader'] }); // throws 401/403, answered as problem+json
    return Response.json({ for: user.id, articles: [] });
  }
  if (request.method === 'POST' && pathname === '/logout') {
    await session.logout();
    return new Response(null, { status: 204 });
  }
  return new Response('Not found', { status: 404 });
});

serve({ fetch: handler, port: Number(process.env.PORT ?? 3006), hostname: '127.0.0.1' }, (info) => {
  console.log(`fetch handler listening on http://127.0.0.1:${info.port}`);
});
