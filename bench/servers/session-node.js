// One instance of a cached stateful deployment sharing a Redis or a PostgreSQL (POSTGRES_URL), for the propagation benchmark:
// POST /login starts a session (its cookie in the answer), GET /me answers 200 or 401 from this
// instance's copy, POST /logout prints "sent <ms>" (epoch milliseconds, sub-ms precision,
// comparable across processes on one machine) just before it ends the session.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createAuth, createAuthContext } from 'tessera-auth';
import { createPostgresStore } from 'tessera-auth/postgres';
import { createRedisStore } from 'tessera-auth/redis';

const now = () => performance.timeOrigin + performance.now();
const store =
  process.env.POSTGRES_URL === undefined
    ? createRedisStore({ url: process.env.REDIS_URL })
    : createPostgresStore({ url: process.env.POSTGRES_URL });
const auth = createAuth({ strategy: 'stateful', store, cookie: { secure: false }, session: { cache: true } });
await auth.ready();

const server = createServer(async (req, res) => {
  const setCookies = [];
  const facts = { method: req.method, ip: '127.0.0.1', header: (name) => req.headers[name] };
  try {
    const context = await createAuthContext(auth, facts, { appendSetCookie: (value) => setCookies.push(value) });
    if (req.method === 'POST' && req.url === '/login') await context.login({ id: randomUUID(), roles: ['user'] });
    else if (req.method === 'POST' && req.url === '/logout') {
      process.stdout.write(`sent ${now()}\n`);
      await context.logout();
    } else if (req.url !== '/me' || !context.user) return void res.writeHead(401).end();
    res.writeHead(req.url === '/login' ? 201 : 200, { 'set-cookie': setCookies }).end();
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
