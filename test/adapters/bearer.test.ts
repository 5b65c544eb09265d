import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import * as ex from '../../packages/tessera-auth/src/adapters/express.js';
import * as fa from '../../packages/tessera-auth/src/adapters/fastify.js';
import * as ho from '../../packages/tessera-auth/src/adapters/hono.js';
import * as web from '../../packages/tessera-auth/src/adapters/web.js';
import type { BearerOptions } from '../../packages/tessera-auth/src/http/bearer.js';
import {
  createDpopVerifier,
  createKeyRing,
  createTokenIssuer,
  createVerifier,
  generateJwk,
  importKey,
} from '../../packages/tessera-auth/src/tokens/index.js';
import { DpopHolder } from '../helpers/dpop-holder.js';
import { Client } from '../helpers/http-client.js';
import { fetchListener } from '../helpers/fetch-server.js';

const ISSUER = 'https://id.example';
const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
/** Where clients reach the service (a balancer in front): DPoP proofs name this, not the loopback address. */
const PUBLIC_ORIGIN = 'https://orders.example';
const options: BearerOptions = {
  verify: createVerifier({ keys, typ: 'at+jwt', issuer: ISSUER, audience: 'orders' }),
  dpop: { verify: createDpopVerifier(), origin: PUBLIC_ORIGIN },
};
const issue = (roles: string[] = ['user'], jkt?: string) =>
  createTokenIssuer({ keys, issuer: ISSUER, ttlSeconds: 60 }).issue({
    sub: 'ana',
    aud: 'orders',
    claims: { roles, ...(jkt && { cnf: { jkt } }) },
  }).token;

async function serve(listener: RequestListener) {
  const server = createServer(listener).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A resource service per adapter: GET /orders needs the user, GET /admin the admin role, GET /public nothing. */
const SERVICES: Record<string, () => Promise<{ url: string; close(): Promise<unknown> }>> = {
  async express() {
    const app = express();
    app.use(ex.bearer(options));
    app.get('/orders', ex.requireAuth(), (req, res) => void res.json({ for: req.auth.user?.id }));
    app.get('/admin', ex.requireAuth({ roles: ['admin'] }), (_req, res) => void res.json({ ok: true }));
    app.get('/public', (_req, res) => void res.json({ ok: true }));
    return serve(app);
  },
  async fastify() {
    const app = Fastify();
    await app.register(fa.bearer, options);
    app.setErrorHandler(fa.problemHandler());
    app.get('/orders', { preHandler: fa.requireAuth() }, async (request) => ({ for: request.auth.user?.id }));
    app.get('/admin', { preHandler: fa.requireAuth({ roles: ['admin'] }) }, async () => ({ ok: true }));
    app.get('/public', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  },
  async hono() {
    const app = new Hono<ho.TesseraEnv>();
    app.onError(ho.problemHandler());
    app.use(ho.bearer(options));
    app.get('/orders', ho.requireAuth(), (c) => c.json({ for: c.get('auth').user?.id }));
    app.get('/admin', ho.requireAuth({ roles: ['admin'] }), (c) => c.json({ ok: true }));
    app.get('/public', (c) => c.json({ ok: true }));
    return serve(getRequestListener(app.fetch));
  },
  async web() {
    return serve(
      fetchListener(async (request) => {
        const context = await web.authenticateBearer(request, options);
        try {
          const path = new URL(request.url).pathname;
          if (path === '/public') return Response.json({ ok: true });
          web.requireAuth(context, path === '/admin' ? { roles: ['admin'] } : {});
          return Response.json(path === '/admin' ? { ok: true } : { for: context.user?.id });
        } catch (error) {
          return web.problemResponse(error, context.scheme);
        }
      }),
    );
  },
};

for (const [adapter, build] of Object.entries(SERVICES)) {
  describe(`bearer() for resource services: ${adapter}`, () => {
    let service: Awaited<ReturnType<typeof build>>;
    before(async () => {
      service = await build();
    });
    after(() => service.close());
    const call = (path: string, authorization?: string) =>
      new Client(service.url).get(path, authorization === undefined ? undefined : { authorization });

    it('a valid token is the user; a missing role is 403 insufficient_scope', async () => {
      assert.deepEqual((await call('/orders', `Bearer ${issue()}`)).body, { for: 'ana' });
      const admin = await call('/admin', `Bearer ${issue()}`);
      assert.deepEqual([admin.status, admin.headers.get('www-authenticate')], [403, 'Bearer error="insufficient_scope"']);
      assert.equal((await call('/admin', `Bearer ${issue(['admin'])}`)).status, 200);
    });

    it('no token, another scheme: 401 with a bare challenge; a bad token: 401 invalid_token; a public route minds none of it', async () => {
      for (const [authorization, challenge] of [
        [undefined, 'Bearer'],
        ['Basic dXNlcjpwYXNz', 'Bearer'],
        [`Bearer ${issue()}x`, 'Bearer error="invalid_token"'],
      ] as const) {
        const refused = await call('/orders', authorization);
        assert.deepEqual([refused.status, refused.headers.get('www-authenticate')], [401, challenge], String(authorization));
        assert.equal((await call('/public', authorization)).status, 200, String(authorization));
      }
    });

    it('a DPoP-bound token: accepted with a proof of its key for this URL, refused as a bearer token or with another key', async () => {
      const holder = await DpopHolder.create('EdDSA');
      const thief = await DpopHolder.create('EdDSA');
      const token = issue(['user'], holder.jkt);
      const ok = await holder.request(service.url, 'GET', '/orders?page=2', { token, origin: PUBLIC_ORIGIN });
      assert.deepEqual([ok.status, ok.body], [200, { for: 'ana' }]);
      const asBearer = await call('/orders', `Bearer ${token}`);
      assert.deepEqual([asBearer.status, asBearer.headers.get('www-authenticate')], [401, 'Bearer error="invalid_token"']);
      const stolen = await thief.request(service.url, 'GET', '/orders', { token, origin: PUBLIC_ORIGIN });
      assert.deepEqual([stolen.status, stolen.headers.get('www-authenticate')], [401, 'DPoP error="invalid_dpop_proof"']);
      const elsewhere = await holder.request(service.url, 'GET', '/orders', { token });
      assert.equal(elsewhere.status, 401, 'a proof for the loopback address is not one for the public URL');
    });
  });
}

describe('bearer() with dpopRequired', () => {
  it('refuses an unbound token and accepts a bound one with its proof', async () => {
    const request = (authorization: string, dpop?: string) => {
      const headers = { authorization, ...(dpop && { dpop }) };
      return web.authenticateBearer(new Request(`${PUBLIC_ORIGIN}/orders`, { headers }), { ...options, dpopRequired: true });
    };
    const unbound = await request(`Bearer ${issue()}`);
    assert.deepEqual([unbound.user, unbound.failure?.code], [null, 'token_invalid']);
    const holder = await DpopHolder.create('ES256');
    const token = issue(['user'], holder.jkt);
    const bound = await request(`DPoP ${token}`, await holder.proof('GET', `${PUBLIC_ORIGIN}/orders`, token));
    assert.equal(bound.user?.id, 'ana');
  });
});
