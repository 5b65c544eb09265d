// A resource service in its own process: `node examples/resource-service.js`. It trusts the
// identity server's access tokens (verified with the published JWKS, no call per request) and
// follows the revocation feed through the shared Redis, so a logout there is a 401 here at once.
//   IDENTITY_URL  the identity server (http://127.0.0.1:3000), whose --issuer is ISSUER
//   REDIS_URL     the Redis the identity server uses (redis://127.0.0.1:6379)
import express from 'express';
import { createRevocationMirror } from 'tessera-auth';
import { bearer, problemHandler, requireAuth } from 'tessera-auth/express';
import { createRedisStore } from 'tessera-auth/redis';
import { createRemoteKeySet, createVerifier } from 'tessera-auth/tokens';

const identity = process.env.IDENTITY_URL ?? 'http://127.0.0.1:3000';
const issuer = process.env.ISSUER ?? identity;

const remoteKeys = createRemoteKeySet({ url: `${identity}/.well-known/jwks.json` });
await remoteKeys.refresh();
const revocations = createRevocationMirror({ store: createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }) });
// The Redis client connects in the background and fails fast meanwhile: retry for a few seconds.
for (let attempt = 1; ; attempt++) {
  try {
    await revocations.ensureLoaded();
    break;
  } catch (error) {
    if (attempt === 50) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const app = express();
// The identity server's access tokens name it as their audience; service tokens would name this service.
app.use(bearer({ verify: createVerifier({ keys: remoteKeys.ring, typ: 'at+jwt', issuer, audience: issuer }), remoteKeys, revocations }));
app.get('/orders', requireAuth(), (req, res) => res.json({ for: req.auth.user.name, orders: [{ id: 1, item: 'book' }] }));
app.use(problemHandler());

const server = app.listen(Number(process.env.PORT ?? 3004), '127.0.0.1', () => {
  console.log(`orders service listening on http://127.0.0.1:${server.address().port}`);
});
