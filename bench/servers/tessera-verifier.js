// Plain stateless: Tessera's token verifier (same keys, claims and cache as the strategy) in the
// seeds' shape (an authenticating middleware before the route), with no revocation list. The
// baseline that revocation is measured against.
import express from 'express';
import { createKeyRing, createTokenIssuer, createVerifier, generateJwk, importKey } from 'tessera/tokens';
import { listen, USER } from './common.js';

const alg = process.env.ALG ?? 'EdDSA';
const jwk = generateJwk(alg);
const keys = createKeyRing([{ key: importKey({ alg, kid: jwk.kid, key: jwk }), status: 'active' }]);
const issuer = 'https://bench.example';
const tokens = createTokenIssuer({ keys, issuer, ttlSeconds: 3600 });
const verify = createVerifier({ keys, typ: 'at+jwt', issuer, audience: issuer });

const app = express();
app.post('/login', (_req, res) => res.json({ token: tokens.issue({ sub: USER.id, aud: issuer, claims: { roles: USER.roles } }).token }));
function authenticate(req, res, next) {
  const header = req.headers.authorization;
  if (!header?.startsWith('Bearer ')) return void res.sendStatus(401);
  try {
    req.user = verify(header.slice(7));
  } catch {
    return void res.sendStatus(401);
  }
  next();
}
app.get('/me', authenticate, (req, res) => res.json({ id: req.user.sub }));
listen(app);
