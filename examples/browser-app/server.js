// A browser app with tessera-auth/client, served without a bundler: `node examples/browser-app/server.js`.
// The API (hybrid) and the page share an origin at PORT. With PAGE_PORT, the page is also served
// from a second origin that calls the API across origins: CORS with credentials for that origin,
// and the CSRF guard told to trust it. npm install tessera-auth express cors
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cors from 'cors';
import express from 'express';
import { createAuth, InvalidCredentialsError, tokenResponseBody } from 'tessera-auth';
import { problemHandler, refreshTokens, requireAuth, tessera } from 'tessera-auth/express';
import { createMemoryStore } from 'tessera-auth/memory';
import { openKeyDirectory } from 'tessera-auth/tokens';

const port = Number(process.env.PORT ?? 3007);
const pagePort = process.env.PAGE_PORT && Number(process.env.PAGE_PORT);
const apiOrigin = `http://127.0.0.1:${port}`;
const pageOrigin = pagePort && `http://127.0.0.1:${pagePort}`;

const keys = openKeyDirectory(process.env.KEYS ?? './.tessera/example-keys', { createIfEmpty: 'EdDSA' });
const auth = createAuth({
  strategy: 'hybrid',
  store: createMemoryStore(),
  tokens: { keys: keys.ring, issuer: apiOrigin },
  cookie: { secure: false }, // plain http on 127.0.0.1; leave it out in production
  csrf: { trustedOrigins: pageOrigin ? [pageOrigin] : [] }, // the other origin's cookie-carried POSTs
});
const PASSWORDS = new Map([['ana', 'correct horse battery']]); // check passwords your way

const api = express();
// Only the page's origin, with credentials (the refresh cookie): never `*` with credentials.
if (pageOrigin) api.use(cors({ origin: pageOrigin, credentials: true, allowedHeaders: ['content-type', 'authorization', 'dpop'] }));
api.use(express.json());
api.post('/auth/refresh', refreshTokens(auth)); // before tessera(): an expired token must not block renewal
api.use(tessera(auth));
api.post('/auth/login', async (req, res) => {
  const { username, password } = req.body ?? {};
  if (PASSWORDS.get(username) !== password) throw new InvalidCredentialsError(); // 401 problem+json
  const user = { id: username, name: username, roles: ['reader'] };
  const result = await req.auth.login(user);
  res
    .set('cache-control', 'no-store')
    .json({ user: { id: user.id, username: user.name, roles: user.roles }, ...tokenResponseBody(result) });
});
api.post('/auth/logout', async (req, res) => {
  await req.auth.logout();
  res.status(204).end();
});
api.get('/api/notes', requireAuth({ roles: ['reader'] }), (req, res) => res.json({ for: req.auth.user.id, notes: ['buy milk'] }));

// The page and the client module, as files: the browser imports the client by URL.
const here = dirname(fileURLToPath(import.meta.url));
const clientDir = dirname(fileURLToPath(import.meta.resolve('tessera-auth/client')));
const page = (apiBase) => readFileSync(join(here, 'index.html'), 'utf8').replace('__API__', apiBase);
const serveClient = (app) => app.use('/vendor/tessera-auth/client', express.static(clientDir, { index: false }));
serveClient(api);
api.get('/', (req, res) => res.type('html').send(page('')));
api.use(problemHandler({ onError: auth.onError }));

api.listen(port, '127.0.0.1', () => console.log(`api and page listening on ${apiOrigin}`));
if (pageOrigin) {
  const site = express();
  serveClient(site);
  site.get('/', (req, res) => res.type('html').send(page(apiOrigin)));
  site.listen(pagePort, '127.0.0.1', () => console.log(`page listening on ${pageOrigin}`));
}
