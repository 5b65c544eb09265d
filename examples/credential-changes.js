// A password change that ends every other device, logins in flight included:
// `node examples/credential-changes.js`, then see README.md ("Credential changes").
// Plain-http development mode (secure: false); in production leave cookies secure.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import express from 'express';
import { createAuth, CredentialsChangedError, InvalidCredentialsError } from 'tessera-auth';
import { problemHandler, requireAuth, tessera } from 'tessera-auth/express';
import { createSqliteStore } from 'tessera-auth/sqlite';

const derive = promisify(scrypt);
const hashPassword = async (password, salt = randomBytes(16)) => ({ salt, key: await derive(password, salt, 32) });
async function passwordMatches(stored, password) {
  const { key } = await hashPassword(password, stored?.salt ?? randomBytes(16)); // same work for an unknown user
  return stored !== undefined && timingSafeEqual(key, stored.key);
}

// Your user table; here a Map of id -> { id, password, roles }.
const users = new Map([['ana', { id: 'ana', password: await hashPassword('correct horse'), roles: ['customer'] }]]);

const auth = createAuth({
  strategy: 'stateful',
  store: createSqliteStore({ path: process.env.DB ?? './.tessera/example-credentials.db' }),
  cookie: { secure: false },
});

const app = express();
app.use(express.json());
app.use(tessera(auth));

app.post('/login', async (req, res) => {
  const { username, password } = req.body;
  for (let attempt = 1; ; attempt++) {
    const generation = await auth.credentialGeneration(username); // first the generation,
    const user = users.get(username); // then the password hash and roles it guards
    const stored = user?.password;
    if (!(await passwordMatches(stored, password))) throw new InvalidCredentialsError();
    try {
      await req.auth.login({ id: user.id, name: user.id, roles: user.roles }, { generation });
      return res.json({ hello: user.id });
    } catch (error) {
      // The credentials changed while this login checked them: check again against the new ones.
      if (!(error instanceof CredentialsChangedError) || attempt === 3) throw error;
    }
  }
});

app.post('/password', requireAuth(), async (req, res) => {
  const user = users.get(req.auth.user.id);
  if (!(await passwordMatches(user.password, req.body.current_password))) throw new InvalidCredentialsError();
  user.password = await hashPassword(req.body.new_password);
  // Every other session of the user, and every login that checked the old password, is dead;
  // this device stays signed in.
  await auth.revokeUser(user.id, { except: req.auth.session.id });
  res.status(204).end();
});

app.get('/me', requireAuth(), (req, res) => res.json({ user: req.auth.user }));
app.use(problemHandler());

const server = app.listen(Number(process.env.PORT ?? 3004), '127.0.0.1', () => {
  console.log(`credential-changes example listening on http://127.0.0.1:${server.address().port}`);
});
