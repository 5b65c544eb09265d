// Stateful sessions on Fastify: `node examples/fastify.js`, then the same curl as the Express example.
import Fastify from 'fastify';
import { createAuth } from 'tessera-auth';
import { problemHandler, requireAuth, tessera } from 'tessera-auth/fastify';
import { createSqliteStore } from 'tessera-auth/sqlite';

const auth = createAuth({
  strategy: 'stateful',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example-fastify.db' }),
  cookie: { secure: false }, // plain-http development only
});

const app = Fastify();
await app.register(tessera, { auth }); // request.auth on every route
app.setErrorHandler(problemHandler());

app.post('/login', async (request) => {
  // Check the password your way; then:
  const { username } = request.body;
  await request.auth.login({ id: username, name: username, roles: ['customer'] });
  return { user: username };
});
app.get('/me', { preHandler: requireAuth() }, async (request) => request.auth.user);
app.get('/admin', { preHandler: requireAuth({ roles: ['admin'] }) }, async () => ({ secret: 42 }));
app.post('/logout', async (request, reply) => {
  await request.auth.logout();
  return reply.code(204).send();
});

const address = await app.listen({ port: Number(process.env.PORT ?? 3004), host: '127.0.0.1' });
console.log(`fastify listening on ${address}`);
