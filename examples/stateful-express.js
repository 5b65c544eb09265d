// A shop that keeps a cart in the session: `node examples/stateful-express.js`, then see README.md.
// Plain-http development mode (secure: false); in production leave cookies secure.
import express from 'express';
import { createAuth } from 'tessera-auth';
import { problemHandler, requireAuth, tessera } from 'tessera-auth/express';
import { createSqliteStore } from 'tessera-auth/sqlite';

const auth = createAuth({
  strategy: 'stateful',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example.db' }),
  cookie: { secure: false },
  session: { idleTimeout: 30 * 60, absoluteTimeout: 12 * 60 * 60 },
});

const app = express();
app.use(express.json());
app.use(tessera(auth));

app.post('/login', async (req, res) => {
  // Check the password your way; then start the session (a fresh id, fixation-proof).
  const { username } = req.body;
  await req.auth.login({ id: username, name: username, roles: ['customer'] });
  res.json({ hello: username });
});

app.post('/cart', requireAuth(), async (req, res) => {
  // An atomic update: concurrent requests each add their item, none is lost.
  const data = await req.auth.updateData((session) => ({ ...session, cart: [...(session.cart ?? []), req.body.item] }));
  res.json({ cart: data.cart });
});

app.get('/cart', requireAuth(), (req, res) => res.json({ cart: req.auth.session.data.cart ?? [] }));
app.get('/admin', requireAuth({ roles: ['admin'] }), (_req, res) => res.json({ secret: 42 }));
app.post('/logout', async (req, res) => {
  await req.auth.logout();
  res.status(204).end();
});
app.use(problemHandler());

const server = app.listen(Number(process.env.PORT ?? 3001), '127.0.0.1', () => {
  console.log(`shop listening on http://127.0.0.1:${server.address().port}`);
});
