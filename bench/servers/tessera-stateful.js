// Tessera's stateful strategy through the public package API, on the store named by $STORE;
// SESSION_CACHE=1 serves sessions from the process's copy, kept current by the revocation feed.
import express from 'express';
import { createAuth, createMemoryStore } from 'tessera-auth';
import { requireAuth, tessera } from 'tessera-auth/express';
import { createPostgresStore } from 'tessera-auth/postgres';
import { createRedisStore } from 'tessera-auth/redis';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { listen, USER } from './common.js';

const stores = {
  memory: () => createMemoryStore(),
  sqlite: () => createSqliteStore({ path: process.env.SQLITE_PATH ?? ':memory:' }),
  redis: () => createRedisStore({ url: process.env.REDIS_URL, prefix: process.env.PREFIX ?? 'bench:' }),
  postgres: () => createPostgresStore({ url: process.env.POSTGRES_URL }),
};
const store = stores[process.env.STORE ?? 'memory']();
for (let attempt = 0; ; attempt++) {
  try {
    await store.ping();
    break;
  } catch (error) {
    if (attempt > 100) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const auth = createAuth({ strategy: 'stateful', store, cookie: { secure: false }, session: { cache: process.env.SESSION_CACHE === '1' } });
await auth.ready();
const app = express();
app.use(tessera(auth));
app.post('/login', async (req, res) => {
  await req.auth.login(USER);
  res.json({ ok: true });
});
app.get('/me', requireAuth(), (req, res) => res.json({ id: req.auth.user?.id }));
app.post('/logout', requireAuth(), async (req, res) => {
  await req.auth.logout();
  res.sendStatus(204);
});
listen(app);
