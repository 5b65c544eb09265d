// The benchmark route on Fastify: $AUTH=none (the framework's own ceiling) or tessera (stateless
// HS256 through tessera/fastify, revocation list on, the same setup as tessera-stateless.js).
import Fastify from 'fastify';
import { createAuth, createMemoryStore } from 'tessera-auth';
import { requireAuth, tessera } from 'tessera-auth/fastify';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';
import { USER } from './common.js';

const app = Fastify({ keepAliveTimeout: 60_000 });
if (process.env.AUTH === 'tessera') {
  const jwk = generateJwk('HS256');
  const keys = createKeyRing([{ key: importKey({ alg: 'HS256', kid: jwk.kid, key: jwk }), status: 'active' }]);
  const auth = createAuth({
    strategy: 'stateless',
    store: createMemoryStore(),
    tokens: { keys, issuer: 'https://bench.example', accessTtl: 3600 },
  });
  await auth.ready();
  await app.register(tessera, { auth });
  app.post('/login', async (request) => ({ token: (await request.auth.login(USER, { transport: 'body' })).accessToken.token }));
  app.get('/me', { preHandler: requireAuth() }, async (request) => ({ id: request.auth.user.id }));
} else {
  app.post('/login', async () => ({ ok: true }));
  app.get('/me', async () => ({ id: USER.id }));
}
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.log('ready');
