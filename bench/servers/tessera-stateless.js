// Tessera's stateless strategy through the public API: bearer tokens, revocation list on, with the
// algorithm named by $ALG (EdDSA by default, HS256 to compare with the HMAC peers).
import express from 'express';
import { createAuth, createMemoryStore } from 'tessera';
import { requireAuth, tessera } from 'tessera/express';
import { createKeyRing, generateJwk, importKey } from 'tessera/tokens';
import { listen, USER } from './common.js';

const alg = process.env.ALG ?? 'EdDSA';
const jwk = generateJwk(alg);
const keys = createKeyRing([{ key: importKey({ alg, kid: jwk.kid, key: jwk }), status: 'active' }]);
const auth = createAuth({ strategy: 'stateless', store: createMemoryStore(), tokens: { keys, issuer: 'https://bench.example', accessTtl: 3600 } });

const app = express();
app.use(tessera(auth));
app.post('/login', async (req, res) => {
  const { accessToken } = await req.auth.login(USER);
  res.json({ token: accessToken.token });
});
app.get('/me', requireAuth(), (req, res) => res.json({ id: req.auth.user.id }));
listen(app);
