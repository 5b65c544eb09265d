import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { bearer, requireAuth } from '../../packages/tessera-auth/src/adapters/express.js';
import {
  createKeyRing,
  createRemoteKeySet,
  createTokenIssuer,
  createVerifier,
  generateJwk,
  importKey,
  openKeyDirectory,
  signJwt,
} from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';
import { startTestServer } from '../helpers/server.js';

const ISSUER = 'https://id.example';
const AUDIENCE = 'orders';

/** A resource service that verifies bearer tokens against a remote JWKS. */
async function resourceService(jwksUrl: string, cooldownMs = 60_000) {
  const remote = createRemoteKeySet({ url: jwksUrl, cooldownMs });
  await remote.refresh();
  const app = express();
  app.use(bearer({ verify: createVerifier({ keys: remote.ring, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE }), remoteKeys: remote }));
  app.get('/orders', requireAuth(), (req, res) =>
    res.json({ for: req.auth.user?.id, roles: req.auth.user?.roles, sid: req.auth.session?.id }),
  );
  app.get('/admin', requireAuth({ roles: ['admin'] }), (_req, res) => res.json({ ok: true }));
  app.get('/public', (req, res) => res.json({ user: req.auth.user }));
  const { server, url } = await listen(app);
  return { remote, server, url };
}

describe('bearer tokens at a resource service (RFC 6750)', () => {
  const signing = importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') });
  const ring = createKeyRing([{ key: signing, status: 'active' }]);
  const issue = (claims: Record<string, unknown> = {}, ttlSeconds = 300) =>
    createTokenIssuer({ keys: ring, issuer: ISSUER, ttlSeconds }).issue({
      sub: 'user-7',
      aud: AUDIENCE,
      claims: { roles: ['user'], sid: 's1', ...claims },
    }).token;
  let jwksServer: Server;
  let jwksHits = 0;
  let service: Awaited<ReturnType<typeof resourceService>>;
  before(async () => {
    const jwks = await listen((_req, res) => {
      jwksHits++;
      res.setHeader('content-type', 'application/json').end(JSON.stringify(ring.jwks(Date.now())));
    });
    jwksServer = jwks.server;
    service = await resourceService(`${jwks.url}/jwks.json`, 60_000);
  });
  after(() => {
    service.server.close();
    jwksServer.close();
  });
  const call = (path: string, authorization?: string) =>
    new Client(service.url).get(path, authorization === undefined ? undefined : { authorization });

  it('a valid token is accepted and req.auth comes from its claims', async () => {
    const response = await call('/orders', `Bearer ${issue()}`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { for: 'user-7', roles: ['user'], sid: 's1' });
  });

  it('no token: 401 with a bare Bearer challenge', async () => {
    const response = await call('/orders');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.equal(response.body.code, 'unauthenticated');
  });

  it('malformed bearer headers: 401 invalid_token', async () => {
    const token = issue();
    const [header64, payload64, signature64] = token.split('.') as [string, string, string];
    // Verified once first, so the spellings below would find it in the verified-token cache if it matched loosely.
    assert.equal((await call('/orders', `Bearer ${token}`)).status, 200);
    for (const header of [
      'Bearer',
      'Bearer ',
      `Bearer ${token} extra`,
      `Bearer ${token}"`,
      `Bearer ${token}=`,
      `Bearer ${header64}.${payload64}.${signature64.slice(0, 20)}~${signature64.slice(21)}`,
      `Bearer ${header64}.${payload64}=.${signature64}`,
      `Bearer ${'a'.repeat(9_000)}`,
    ]) {
      const response = await call('/orders', header);
      assert.equal(response.status, 401, header.slice(0, 20));
      assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    }
  });

  it('another scheme is no credential: a bare challenge on a protected route, ignored on a public one', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', `Token ${issue()}`]) {
      const response = await call('/orders', header);
      assert.equal(response.status, 401, header.slice(0, 20));
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.equal(response.body.code, 'unauthenticated');
    }
    for (const header of ['Basic dXNlcjpwYXNz', `Bearer ${issue()}x`, 'Bearer not-a-token']) {
      assert.equal((await call('/public', header)).status, 200, header.slice(0, 20));
    }
  });

  it('an expired or forged token: 401 invalid_token, and the body never echoes it', async () => {
    const expired = signJwt(signing, { iss: ISSUER, sub: 'user-7', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 60 }, 'at+jwt');
    const response = await call('/orders', `Bearer ${expired}`);
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'token_expired');
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.ok(!JSON.stringify(response.body).includes(expired.split('.')[2]!));
    const other = importKey({ alg: 'EdDSA', key: generateJwk('EdDSA'), kid: signing.kid });
    const forged = signJwt(
      other,
      { iss: ISSUER, sub: 'admin', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60, roles: ['admin'] },
      'at+jwt',
    );
    assert.equal((await call('/admin', `Bearer ${forged}`)).body.code, 'token_signature');
  });

  it('a valid token without the role: 403 insufficient_scope', async () => {
    const response = await call('/admin', `Bearer ${issue()}`);
    assert.equal(response.status, 403);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"');
    assert.equal((await call('/admin', `Bearer ${issue({ roles: ['admin'] })}`)).status, 200);
  });

  it('a token for another audience is refused', async () => {
    const billing = createTokenIssuer({ keys: ring, issuer: ISSUER, ttlSeconds: 60 }).issue({ sub: 'user-7', aud: 'billing' }).token;
    assert.equal((await call('/orders', `Bearer ${billing}`)).body.code, 'token_claim_invalid');
  });

  it('after a rotation, a token from the new key triggers one refetch; a flood of unknown kids, at most one', async () => {
    const next = importKey({ alg: 'ES256', key: generateJwk('ES256') });
    ring.update([
      { key: signing, status: 'retiring', notAfter: Date.now() + 60_000 },
      { key: next, status: 'active' },
    ]);
    const before = service.remote.fetchCount;
    assert.equal((await call('/orders', `Bearer ${issue()}`)).status, 200, 'signed by the new key');
    assert.equal(service.remote.fetchCount, before + 1);

    const hitsBefore = jwksHits;
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const stranger = importKey({ alg: 'HS256', kid: `made-up-${i}`, key: Buffer.alloc(32, i) });
        return call('/orders', `Bearer ${signJwt(stranger, { iss: ISSUER, sub: 'x', aud: AUDIENCE, exp: 9_999_999_999 }, 'at+jwt')}`);
      }),
    );
    assert.ok(flood.every((response) => response.status === 401));
    assert.ok(jwksHits - hitsBefore <= 1, `${jwksHits - hitsBefore} JWKS fetches for 50 unknown kids`);
  });

  it('with the JWKS endpoint down, known keys keep verifying', async () => {
    const token = issue();
    jwksServer.close();
    jwksServer.closeAllConnections();
    assert.equal((await call('/orders', `Bearer ${token}`)).status, 200);
  });
});

describe('the identity server publishes its keys', () => {
  it('GET /.well-known/jwks.json: public keys with kid, alg and use, cacheable; tokens from the shared keys directory verify remotely', async () => {
    const server = await startTestServer({ store: 'memory' });
    try {
      const jwks = await new Client(server.url).get('/.well-known/jwks.json');
      assert.equal(jwks.status, 200);
      assert.match(jwks.headers.get('cache-control') ?? '', /max-age=\d+/);
      // The access tokens' key, and the ID tokens' (RS256, which OpenID Connect requires).
      const [key, idTokenKey] = jwks.body.keys as Record<string, string>[];
      assert.equal(jwks.body.keys.length, 2);
      assert.deepEqual([key!.alg, key!.use, key!.kty, key!.crv], ['EdDSA', 'sig', 'OKP', 'Ed25519']);
      assert.deepEqual([idTokenKey!.alg, idTokenKey!.use, idTokenKey!.kty], ['RS256', 'sig', 'RSA']);
      for (const published of [key!, idTokenKey!])
        for (const secret of ['d', 'k', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(published[secret], undefined);

      // Another process that shares the keys directory signs; a resource service trusts the JWKS.
      const shared = openKeyDirectory(`${server.dataDir}/keys`);
      const token = createTokenIssuer({ keys: shared.ring, issuer: ISSUER, ttlSeconds: 60 }).issue({ sub: 'u', aud: AUDIENCE }).token;
      shared.close();
      const service = await resourceService(`${server.url}/.well-known/jwks.json`);
      try {
        assert.equal((await new Client(service.url).get('/orders', { authorization: `Bearer ${token}` })).status, 200);
      } finally {
        service.server.close();
      }
    } finally {
      await server.stop();
    }
  });
});
