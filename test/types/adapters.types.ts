/**
 * Compile-only type tests of the Fastify, Hono and fetch adapters: `npm run typecheck` fails if
 * their public types drift. Nothing here runs.
 */
import Fastify from 'fastify';
import { Hono } from 'hono';
import {
  problemHandler as fastifyProblems,
  refreshTokens as fastifyRefresh,
  requireAuth as fastifyRequire,
  tessera as fastifyTessera,
} from '../../packages/tessera-auth/src/adapters/fastify.js';
import { requireAuth as honoRequire, tessera as honoTessera, type TesseraEnv } from '../../packages/tessera-auth/src/adapters/hono.js';
import { authenticate, problemResponse, requireAuth, withTessera } from '../../packages/tessera-auth/src/adapters/web.js';
import { createAuth, createMemoryStore, type AuthContext, type Identity } from '../../packages/tessera-auth/src/index.js';

const auth = createAuth({ strategy: 'stateful', store: createMemoryStore() });

// Fastify: declaration merging types request.auth; the plugin takes { auth }.
const fastify = Fastify();
void fastify.register(fastifyTessera, { auth });
// @ts-expect-error the plugin needs the auth instance
void fastify.register(fastifyTessera, {});
fastify.setErrorHandler(fastifyProblems());
fastify.post('/auth/refresh', { config: { tessera: false } }, fastifyRefresh(auth));
fastify.get('/me', { preHandler: fastifyRequire({ roles: ['admin'] }) }, async (request) => {
  const context: AuthContext = request.auth;
  // @ts-expect-error the user may be null
  return context.user.id;
});
// @ts-expect-error roles are a list
fastifyRequire({ roles: 'admin' });

// Hono: c.get('auth') is typed through the app's environment.
const hono = new Hono<TesseraEnv>();
hono.use(honoTessera(auth));
hono.get('/me', honoRequire(), (c) => {
  const context: AuthContext = c.get('auth');
  // @ts-expect-error no such variable
  c.get('session');
  return c.json({ id: context.user?.id ?? null });
});
// Behind requireAuth(), the user is there: no null check, no cast.
hono.get('/orders', honoRequire({ roles: ['reader'] }), (c) => c.json({ for: c.get('auth').user.id }));
// @ts-expect-error without requireAuth(), the user may be null
hono.get('/public', (c) => c.json({ for: c.get('auth').user.id }));
hono.use('/admin/*', honoRequire({ roles: ['admin'] }));

// The fetch adapter: handlers get the context; helpers answer Responses.
const handler: (request: Request) => Promise<Response> = withTessera(auth, (_request, context) => {
  const user: Identity = requireAuth(context, { roles: ['reader'] });
  return Response.json({ id: user.id });
});
void handler;
// @ts-expect-error a handler must answer a Response
withTessera(auth, () => 'text');
void (async () => {
  const { context, apply }: { context: AuthContext; apply(response: Response): Response } = await authenticate(
    auth,
    new Request('http://x/'),
  );
  void context;
  const answered: Response = apply(problemResponse(new Error('x'), 'bearer'));
  void answered;
});
