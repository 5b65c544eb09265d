// The seeds' stateless code and its faster cousin, on the same route. $PEER picks:
//   jsonwebtoken-string    jsonwebtoken with the secret as a string (the seeds' code)
//   jsonwebtoken-keyobject jsonwebtoken with a KeyObject
//   fast-jwt               fast-jwt with its verified-token cache
import { createSecretKey } from 'node:crypto';
import express from 'express';
import { createSigner, createVerifier } from 'fast-jwt';
import jsonwebtoken from 'jsonwebtoken';
import { listen, USER } from './common.js';

const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';
const peer = process.env.PEER;
const claims = () => ({ sub: USER.id, role: 'user', iss: 'bench' });

let sign;
let verify;
if (peer === 'fast-jwt') {
  sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
  const verifier = createVerifier({ key: SECRET, algorithms: ['HS256'], cache: true });
  verify = (token) => verifier(token);
} else {
  const key = peer === 'jsonwebtoken-keyobject' ? createSecretKey(Buffer.from(SECRET)) : SECRET;
  sign = (payload) => jsonwebtoken.sign(payload, key, { algorithm: 'HS256', expiresIn: '1h' });
  verify = (token) => jsonwebtoken.verify(token, key, { algorithms: ['HS256'] });
}

const app = express();
app.post('/login', (_req, res) => res.json({ token: sign(claims()) }));
// The seeds' middleware, answering 401 (RFC 6750) rather than their 403.
app.get('/me', (req, res) => {
  const token = req.headers.authorization?.split(' ')[1];
  if (!token) return void res.sendStatus(401);
  try {
    res.json({ id: verify(token).sub });
  } catch {
    res.sendStatus(401);
  }
});
listen(app);
