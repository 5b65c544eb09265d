// The seed's stateful code: express-session, with its MemoryStore, with connect-redis when
// REDIS_URL is set (node-redis client, as connect-redis requires), or with connect-pg-simple when
// POSTGRES_URL is set (node-postgres pool, as connect-pg-simple requires).
import { RedisStore } from 'connect-redis';
import connectPgSimple from 'connect-pg-simple';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { listen, USER } from './common.js';

let store;
if (process.env.REDIS_URL) {
  const client = createClient({ url: process.env.REDIS_URL });
  await client.connect();
  store = new RedisStore({ client, prefix: process.env.PREFIX ?? 'sess:' });
} else if (process.env.POSTGRES_URL) {
  const PgStore = connectPgSimple(session);
  store = new PgStore({ conString: process.env.POSTGRES_URL, createTableIfMissing: true, pruneSessionInterval: 60 });
}

const app = express();
app.use(
  session({
    ...(store && { store }),
    secret: 'bench-secret-bench-secret-bench-secret',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, secure: false, maxAge: 86_400_000 },
  }),
);
app.post('/login', (req, res) => {
  req.session.regenerate(() => {
    req.session.userId = USER.id;
    res.json({ ok: true });
  });
});
app.get('/me', (req, res) => {
  if (!req.session.userId) return void res.sendStatus(401);
  res.json({ id: req.session.userId });
});
app.post('/logout', (req, res) => req.session.destroy(() => res.sendStatus(204)));
listen(app);
