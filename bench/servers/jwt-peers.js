// The seeds' stateless code and its faster cousin, on the same route. $PEER picks:
//   jsonwebtoken-string    jsonwebtoken with the secret as a string (the seeds' code)
//   jsonwebtoken-keyobject jsonwebtoken with a KeyObject
//   fast-jwt               fast-jwt with its verified-token cache
// With $REDIS_URL it becomes the seeds' revocation design: a Redis blacklist looked up on every
// request (EXISTS blacklist:<jti>), holding $REVOKED revoked ids; POST /logout adds the caller's.
// Without Redis, logout can only ask the client to forget the token: it stays valid until exp.
import { createSecretKey, randomUUID } from 'node:crypto';
import express from 'express';
import { createSigner, createVerifier } from 'fast-jwt';
import { Redis } from 'ioredis';
import jsonwebtoken from 'jsonwebtoken';
import { listen, USER } from './common.js';

const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';
const peer = process.env.PEER;
const PREFIX = process.env.PREFIX ?? '';
const claims = () => ({ sub: USER.id, role: 'user', iss: 'bench', jti: randomUUID() });

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

const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
for (let i = 0; i < Number(process.env.REVOKED ?? 0); i++) await redis?.set(`${PREFIX}blacklist:${randomUUID()}`, '1', 'EX', 3600);

const app = express();
app.post('/login', (_req, res) => res.json({ token: sign(claims()) }));
// The seeds' middleware, answering 401 (RFC 6750) rather than their 403.
async function authenticate(req, res, next) {
  const token = req.headers.authorization?.split(' ')[1];
  if (!token) return void res.sendStatus(401);
  try {
    req.user = verify(token);
    if (redis && (await redis.exists(`${PREFIX}blacklist:${req.user.jti}`))) return void res.sendStatus(401);
  } catch {
    return void res.sendStatus(401);
  }
  next();
}
app.get('/me', authenticate, (req, res) => res.json({ id: req.user.sub }));
app.post('/logout', authenticate, async (req, res) => {
  const ttl = req.user.exp - Math.floor(Date.now() / 1000);
  if (redis && ttl > 0) await redis.set(`${PREFIX}blacklist:${req.user.jti}`, '1', 'EX', ttl);
  res.sendStatus(204);
});
listen(app);
