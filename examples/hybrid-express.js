// An API with the hybrid strategy: `node examples/hybrid-express.js`. Five-minute access tokens
// checked in memory, renewed with a rotating refresh handle (cookie for browsers, body for apps).
import express from 'express';
import { createAuth } from 'tessera-auth';
import { problemHandler, refreshTokens, requireAuth, tessera } from 'tessera-auth/express';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { openKeyDirectory } from 'tessera-auth/tokens';

const keys = openKeyDirectory(process.env.KEYS ?? './.tessera/example-keys', { createIfEmpty: 'EdDSA' });
const auth = createAuth({
  strategy: 'hybrid',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example-hybrid.db' }), // sessions, revocations
  tokens: { keys: keys.ring, issuer: 'https://api.example' }, // access tokens: 5 minutes by default
  cookie: { secure: false }, // plain http on localhost; leave it out in production
  refresh: { graceSeconds: 10 },
});
auth.events.on('refreshReused', ({ sessionId }) => console.error(`stolen refresh handle: session ${sessionId} revoked`));

const app = express();
app.use(express.json());
app.post('/auth/refresh', refreshTokens(auth)); // before tessera(): an expired token must not block renewal
app.use(tessera(auth));

app.post('/login', async (req, res) => {
  // Check the password your way, then log in. Apps ask for the handle in the body; browsers get a cookie.
  const transport = req.body.transport === 'body' ? 'body' : 'cookie';
  const result = await req.auth.login({ id: req.body.username, name: req.body.username, roles: ['reader'] }, { transport });
  res.json({ access_token: result.accessToken.token, expires_in: result.accessToken.expiresIn, refresh_token: result.refreshToken });
});
app.get('/articles', requireAuth({ roles: ['reader'] }), (req, res) => res.json({ for: req.auth.user.id, articles: [] }));
app.post('/logout', async (req, res) => {
  await req.auth.logout(); // the session, its refresh handle and its access tokens: dead now
  res.status(204).end();
});
app.use(problemHandler());

const server = app.listen(Number(process.env.PORT ?? 3003), '127.0.0.1', () => {
  console.log(`api listening on http://127.0.0.1:${server.address().port}`);
});
