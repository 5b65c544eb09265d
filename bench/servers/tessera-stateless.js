// Tessera's token strategies through the public API: bearer tokens, revocation list on, with the
// algorithm named by $ALG (EdDSA by default, HS256 to compare with the HMAC peers). $STRATEGY is
// stateless (default) or hybrid: their request paths are meant to cost the same. With $REDIS_URL
// (or $POSTGRES_URL) the list is shared over that store (durable copy + feed) and starts with
// $REVOKED entries. $JWK is the signing key that instances share (a fresh one when unset);
// $MAX_STALENESS the staleness bound in seconds (the library's default when unset).
import { randomUUID } from 'node:crypto';
import express from 'express';
import { createAuth, createMemoryStore } from 'tessera-auth';
import { requireAuth, tessera } from 'tessera-auth/express';
import { createPostgresStore } from 'tessera-auth/postgres';
import { createRedisStore } from 'tessera-auth/redis';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';
import { listen, USER } from './common.js';

const alg = process.env.ALG ?? 'EdDSA';
const jwk = process.env.JWK ? JSON.parse(process.env.JWK) : generateJwk(alg);
const keys = createKeyRing([{ key: importKey({ alg, kid: jwk.kid, key: jwk }), status: 'active' }]);
const store = process.env.REDIS_URL
  ? createRedisStore({ url: process.env.REDIS_URL, prefix: process.env.PREFIX })
  : process.env.POSTGRES_URL
    ? createPostgresStore({ url: process.env.POSTGRES_URL })
    : createMemoryStore();
for (let attempt = 0; ; attempt++) {
  try {
    await store.ping();
    break;
  } catch (error) {
    if (attempt > 100) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const auth = createAuth({
  strategy: process.env.STRATEGY ?? 'stateless',
  store,
  tokens: {
    keys,
    issuer: 'https://bench.example',
    accessTtl: 3600,
    ...(process.env.MAX_STALENESS && { maxStaleness: Number(process.env.MAX_STALENESS) }),
  },
});
await auth.ready();
for (let i = 0; i < Number(process.env.REVOKED ?? 0); i++) {
  await auth.tokens.revoke({ kind: 'jti', value: randomUUID(), expiresAt: Date.now() + 3_600_000 });
}

const app = express();
app.use(tessera(auth));
app.post('/login', async (req, res) => {
  const { accessToken } = await req.auth.login(USER, { transport: 'body' });
  res.json({ token: accessToken.token });
});
app.get('/me', requireAuth(), (req, res) => res.json({ id: req.auth.user.id }));
app.post('/logout', requireAuth(), async (req, res) => {
  await req.auth.logout();
  res.sendStatus(204);
});
listen(app);
