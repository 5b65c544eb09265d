import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import * as ex from '../../packages/tessera-auth/src/adapters/express.js';
import * as fa from '../../packages/tessera-auth/src/adapters/fastify.js';
import * as ho from '../../packages/tessera-auth/src/adapters/hono.js';
import * as web from '../../packages/tessera-auth/src/adapters/web.js';
import type { Auth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { InvalidRequestError } from '../../packages/tessera-auth/src/base/errors.js';
import type { AuthContext, LoginOptions } from '../../packages/tessera-auth/src/base/types.js';
import { tokenResponseBody } from '../../packages/tessera-auth/src/http/refresh.js';
import { fetchListener } from '../helpers/fetch-server.js';

/**
 * The same small application written once per adapter, the way a user of that framework would:
 *   POST /auth/refresh  hybrid renewal (outside authentication)
 *   POST /login         {id, roles, transport?} → token fields + session id
 *   GET  /me            requireAuth → {id, roles, strategy, scheme}
 *   GET  /admin         requireAuth({roles: ['admin']})
 *   POST /logout        204;  POST /logout-all  requireAuth, 204
 *   GET  /boom          a route that throws a TesseraError (400)
 *   GET  /bug           a route with a bug (a TypeError: 500, reported to the auth's `onError`)
 */
export interface AdapterApp {
  readonly url: string;
  close(): Promise<void>;
}

type LoginBody = { id: string; roles: string[]; transport?: LoginOptions['transport'] };

async function login(context: AuthContext, body: LoginBody) {
  const result = await context.login(
    { id: body.id, name: body.id, roles: body.roles },
    body.transport ? { transport: body.transport } : {},
  );
  return { session_id: result.session.id, ...tokenResponseBody(result) };
}

/** What a bug in a route looks like: not a TesseraError. */
const bug = (): never => {
  const user = null as unknown as { id: string };
  return user.id as never; // TypeError: Cannot read properties of null
};

const me = (context: AuthContext) => ({
  id: context.user?.id,
  roles: context.user?.roles,
  strategy: context.strategy,
  scheme: context.scheme,
});

async function serve(listener: Parameters<typeof createServer>[1]): Promise<AdapterApp> {
  const server: Server = createServer(listener).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function expressApp(auth: Auth): Promise<AdapterApp> {
  const app = express();
  app.use(express.json());
  app.post('/auth/refresh', ex.refreshTokens(auth));
  app.use(ex.tessera(auth));
  app.post('/login', async (req, res) => void res.json(await login(req.auth, req.body as LoginBody)));
  app.get('/me', ex.requireAuth(), (req, res) => void res.json(me(req.auth)));
  app.get('/admin', ex.requireAuth({ roles: ['admin'] }), (_req, res) => void res.json({ ok: true }));
  app.post('/logout', async (req, res) => {
    await req.auth.logout();
    res.status(204).end();
  });
  app.post('/logout-all', ex.requireAuth(), async (req, res) => {
    await req.auth.logoutAll();
    res.status(204).end();
  });
  app.get('/boom', () => {
    throw new InvalidRequestError('Boom.');
  });
  app.get('/bug', () => bug());
  app.use(ex.problemHandler({ onError: auth.onError }));
  return serve(app);
}

export async function fastifyApp(auth: Auth): Promise<AdapterApp> {
  const app = Fastify();
  await app.register(fa.tessera, { auth });
  app.setErrorHandler(fa.problemHandler({ onError: auth.onError }));
  app.post('/auth/refresh', { config: { tessera: false } }, fa.refreshTokens(auth));
  app.post('/login', async (request) => login(request.auth, request.body as LoginBody));
  app.get('/me', { preHandler: fa.requireAuth() }, async (request) => me(request.auth));
  app.get('/admin', { preHandler: fa.requireAuth({ roles: ['admin'] }) }, async () => ({ ok: true }));
  app.post('/logout', async (request, reply) => {
    await request.auth.logout();
    return reply.code(204).send();
  });
  app.post('/logout-all', { preHandler: fa.requireAuth() }, async (request, reply) => {
    await request.auth.logoutAll();
    return reply.code(204).send();
  });
  app.get('/boom', async () => {
    throw new InvalidRequestError('Boom.');
  });
  app.get('/bug', async () => bug());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export async function honoApp(auth: Auth): Promise<AdapterApp> {
  const app = new Hono<ho.TesseraEnv>();
  const ip = () => '127.0.0.1';
  app.onError(ho.problemHandler({ onError: auth.onError }));
  app.post('/auth/refresh', ho.refreshTokens(auth, { ip }));
  app.use(ho.tessera(auth, { ip }));
  app.post('/login', async (c) => c.json(await login(c.get('auth'), await c.req.json<LoginBody>())));
  app.get('/me', ho.requireAuth(), (c) => c.json(me(c.get('auth'))));
  app.get('/admin', ho.requireAuth({ roles: ['admin'] }), (c) => c.json({ ok: true }));
  app.post('/logout', async (c) => {
    await c.get('auth').logout();
    return c.body(null, 204);
  });
  app.post('/logout-all', ho.requireAuth(), async (c) => {
    await c.get('auth').logoutAll();
    return c.body(null, 204);
  });
  app.get('/boom', () => {
    throw new InvalidRequestError('Boom.');
  });
  app.get('/bug', () => bug());
  return serve(getRequestListener(app.fetch));
}

/** The fetch adapter alone: one `withTessera` handler routing by hand, on a bare node:http server. */
export async function webApp(auth: Auth): Promise<AdapterApp> {
  const addresses = new WeakMap<Request, string>();
  const options = { ip: (request: Request) => addresses.get(request) ?? '' };
  const routes = web.withTessera(
    auth,
    async (request, context) => {
      const route = `${request.method} ${new URL(request.url).pathname}`;
      switch (route) {
        case 'POST /login':
          return Response.json(await login(context, (await request.json()) as LoginBody));
        case 'GET /me':
          web.requireAuth(context);
          return Response.json(me(context));
        case 'GET /admin':
          web.requireAuth(context, { roles: ['admin'] });
          return Response.json({ ok: true });
        case 'POST /logout':
          await context.logout();
          return new Response(null, { status: 204 });
        case 'POST /logout-all':
          web.requireAuth(context);
          await context.logoutAll();
          return new Response(null, { status: 204 });
        case 'GET /boom':
          throw new InvalidRequestError('Boom.');
        case 'GET /bug':
          return bug();
        default:
          return new Response('not found', { status: 404 });
      }
    },
    options,
  );
  return serve(
    fetchListener((request, ip) => {
      addresses.set(request, ip);
      const { pathname } = new URL(request.url);
      return request.method === 'POST' && pathname === '/auth/refresh' ? web.refreshResponse(auth, request, options) : routes(request);
    }),
  );
}

export const ADAPTERS = {
  express: expressApp,
  fastify: fastifyApp,
  'hono (fetch adapter)': honoApp,
  'bare node:http (fetch adapter)': webApp,
} as const;
