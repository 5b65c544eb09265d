// An API that signs its users in with stateless tokens: `node examples/stateless-express.js`.
// Keys live in ./.tessera/example-keys (made on first start); every server sharing that directory
// and the issuer accepts the same tokens.
import express from 'express';
import { createAuth } from 'tessera-auth';
import { problemHandler, requireAuth, tessera } from 'tessera-auth/express';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { openKeyDirectory } from 'tessera-auth/tokens';

const keys = openKeyDirectory(process.env.KEYS ?? './.tessera/example-keys', { createIfEmpty: 'EdDSA' });
const auth = createAuth({
  strategy: 'stateless',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example-stateless.db' }), // login records, revocations
  tokens: { keys: keys.ring, issuer: 'https://api.example', accessTtl: 15 * 60 },
});

const app = express();
app.use(express.json());
app.use(tessera(auth)); // verifies "Authorization: Bearer …" with no store trip

app.post('/login', async (req, res) => {
  // Check the password your way; then:
  const { accessToken } = await req.auth.login({ id: req.body.username, name: req.body.username, roles: ['reader'] });
  res.json({ access_token: accessToken.token, expires_in: accessToken.expiresIn });
});
app.get('/articles', requireAuth({ roles: ['reader'] }), (req, res) => res.json({ for: req.auth.user.id, articles: [] }));
app.post('/logout', async (req, res) => {
  await req.auth.logout(); // the token is dead now, not at its expiry
  res.status(204).end();
});
app.use(problemHandler());

const server = app.listen(Number(process.env.PORT ?? 3002), '127.0.0.1', () => {
  console.log(`api listening on http://127.0.0.1:${server.address().port}`);
});
