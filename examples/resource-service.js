// A resource service in its own process: `node examples/resource-service.js`. It trusts the
// identity server's access tokens (verified with the published JWKS, no call per request) and
// follows its revocation stream, so a logout there is a 401 here at once. It holds no store
// credentials: only its own OAuth client at the identity server (`tessera serve --client ID:SECRET`).
// Tokens bound to a client's key (`tessera serve --dpop`) are accepted with a DPoP proof of that key.
//   IDENTITY_URL   the identity server (http://127.0.0.1:3000), whose --issuer is ISSUER
//   CLIENT_ID, CLIENT_SECRET   this service's client there
//   PUBLIC_ORIGIN  where clients reach this service, which their DPoP proofs name (http://127.0.0.1:PORT)
import express from 'express';
import { bearer, problemHandler, requireAuth } from 'tessera-auth/express';
import { followRevocationStream } from 'tessera-auth/revocation-stream';
import { createDpopVerifier, createRemoteKeySet, createVerifier } from 'tessera-auth/tokens';

const identity = process.env.IDENTITY_URL ?? 'http://127.0.0.1:3000';
const issuer = process.env.ISSUER ?? identity;
const port = Number(process.env.PORT ?? 3004);
const origin = process.env.PUBLIC_ORIGIN ?? `http://127.0.0.1:${port}`;

const remoteKeys = createRemoteKeySet({ url: `${identity}/.well-known/jwks.json` });
await remoteKeys.refresh();
const revocations = followRevocationStream({
  url: `${identity}/revocations/stream`,
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
});
await revocations.ensureLoaded();

const app = express();
// The identity server's access tokens name it as their audience; service tokens would name this service.
const verify = createVerifier({ keys: remoteKeys.ring, typ: 'at+jwt', issuer, audience: issuer });
app.use(bearer({ verify, remoteKeys, revocations, dpop: { verify: createDpopVerifier(), origin } }));
app.get('/orders', requireAuth(), (req, res) => res.json({ for: req.auth.user.name, orders: [{ id: 1, item: 'book' }] }));
app.use(problemHandler());

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`orders service listening on http://127.0.0.1:${server.address().port}`);
});
