import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type express from 'express';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { systemClock } from '../../packages/tessera-auth/src/base/clock.js';
import { createServerApp } from '../../packages/tessera-auth-server/src/server/app.js';
import { createHashingGate } from '../../packages/tessera-auth-server/src/server/hashing-gate.js';
import { createLoginThrottle } from '../../packages/tessera-auth-server/src/server/login-throttle.js';
import { OPENAPI } from '../../packages/tessera-auth-server/src/server/openapi.js';
import { createRegistrationThrottle } from '../../packages/tessera-auth-server/src/server/registration-throttle.js';
import { createTelemetry } from '../../packages/tessera-auth-server/src/server/telemetry.js';
import { createUserService } from '../../packages/tessera-auth-server/src/server/users.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, createTokenIssuer, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const OPERATIONS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const PASSWORD = 'correct horse battery';

/** Every (METHOD, OpenAPI path) the document describes. */
const described = Object.entries(OPENAPI.paths).flatMap(([path, item]) =>
  OPERATIONS.filter((method) => method in item).map((method) => `${method.toUpperCase()} ${path}`),
);

/** Every (METHOD, path) the Express app mounts, routers included, in OpenAPI's `{param}` spelling. */
function mounted(app: express.Express): string[] {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    rawPath?: string;
    handle: { stack?: Layer[] };
  }
  const walk = (stack: Layer[], prefix: string): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
        return Object.keys(layer.route.methods)
          .filter((method) => method !== '_all')
          .map((method) => `${method.toUpperCase()} ${path}`);
      }
      return layer.handle.stack ? walk(layer.handle.stack, `${prefix}${layer.rawPath ?? ''}`) : [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
}

/** The server's app, built as `tessera serve` builds it (hybrid: every route is mounted). */
function hybridApp(): express.Express {
  const store = createMemoryStore();
  const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
  const auth = createAuth({ strategy: 'hybrid', store, tokens: { keys, issuer: 'https://id.test' } });
  const users = createUserService({
    users: store.users,
    throttle: createLoginThrottle(store.counters),
    countRegistration: createRegistrationThrottle(store.counters),
    hashing: createHashingGate(),
    clock: systemClock,
    generationOf: auth.credentialGeneration,
  });
  return createServerApp({ auth, users, keys, telemetry: createTelemetry(auth, { level: 'silent' }) });
}

/** A concrete URL for an OpenAPI path. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'some-id');

describe('the HTTP contract as OpenAPI 3.1', () => {
  it('the document is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(OPENAPI) as unknown as Parameters<Validator['validate']>[0]);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
  });

  it('it describes exactly the routes the app mounts, no more, no fewer', () => {
    assert.deepEqual(new Set(mounted(hybridApp())), new Set(described));
  });
});

describe('HTTP details against a running server', () => {
  let server: TestServer;
  let bearer: string;
  before(async () => {
    server = await startTestServer({ strategy: 'hybrid', metrics: 'public' });
    const client = new Client(server.url);
    await client.post('/auth/register', { username: 'http-details', password: PASSWORD });
    bearer = `Bearer ${(await client.post('/auth/login', { username: 'http-details', password: PASSWORD, transport: 'body' })).body.access_token as string}`;
  });
  after(() => server.stop());

  it('serves its own description at /openapi.json', async () => {
    const served = await new Client(server.url).get('/openapi.json');
    assert.deepEqual(served.body, JSON.parse(JSON.stringify(OPENAPI)));
  });

  it('every route: a method it does not answer is 405 with Allow; OPTIONS is 204 with Allow', async () => {
    for (const [path, item] of Object.entries(OPENAPI.paths)) {
      const allowed = OPERATIONS.filter((method) => method in item).map((method) => method.toUpperCase());
      const expected = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
      const wrong = ['PATCH', 'PUT', 'DELETE', 'POST', 'GET'].find((method) => !allowed.includes(method))!;
      const refused = await fetch(`${server.url}${concrete(path)}`, { method: wrong, headers: { authorization: bearer } });
      assert.equal(refused.status, 405, `${wrong} ${path}`);
      assert.equal(refused.headers.get('allow'), expected, path);
      const body = (await refused.json()) as Record<string, unknown>;
      assert.equal(
        path.startsWith('/oauth/') ? body.error : body.code,
        path.startsWith('/oauth/') ? 'invalid_request' : 'method_not_allowed',
        path,
      );
      const options = await fetch(`${server.url}${concrete(path)}`, { method: 'OPTIONS' });
      assert.deepEqual([options.status, options.headers.get('allow')], [204, expected], `OPTIONS ${path}`);
    }
  });

  it('every described operation is routed: none answers 404 "No such route" or 405', async () => {
    for (const operation of described) {
      const [method, path] = operation.split(' ') as [string, string];
      const response = await fetch(`${server.url}${concrete(path)}`, {
        method,
        headers: { authorization: bearer, 'content-type': 'application/json', origin: server.url },
        ...(method !== 'GET' && { body: '{}' }),
      });
      const text = await response.text();
      assert.notEqual(response.status, 405, operation);
      assert.ok(!text.includes('No such route'), `${operation}: ${response.status} ${text.slice(0, 120)}`);
    }
  });

  it("a stray Authorization header never breaks a public route: a proxy's Basic, garbage, another issuer's token", async () => {
    const foreign = createTokenIssuer({
      keys: createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]),
      issuer: 'https://other.example',
      ttlSeconds: 60,
    }).issue({ sub: 'someone', aud: server.url }).token;
    let serial = 0;
    for (const authorization of ['Basic c3RhZ2luZzpwcm94eQ==', 'Bearer not-a-token', `Bearer ${foreign}`, 'Negotiate abc']) {
      const client = new Client(server.url, { authorization });
      for (const path of [
        '/',
        '/tessera-page.js',
        '/tessera-client.js',
        '/dpop-key.js',
        '/.well-known/jwks.json',
        '/.well-known/oauth-authorization-server',
        '/.well-known/openid-configuration',
        '/openapi.json',
        '/healthz',
        '/metrics',
      ]) {
        assert.equal((await client.get(path)).status, 200, `${authorization.slice(0, 12)} ${path}`);
      }
      const username = `stray${++serial}`;
      assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201, authorization.slice(0, 12));
      assert.equal(
        (await client.post('/auth/login', { username, password: PASSWORD, transport: 'body' })).status,
        200,
        authorization.slice(0, 12),
      );
      // A route that needs the user answers: a bare challenge for another scheme, invalid_token for a bad bearer.
      const me = await client.get('/auth/me');
      assert.equal(me.status, 401);
      assert.equal(me.headers.get('www-authenticate'), authorization.startsWith('Bearer') ? 'Bearer error="invalid_token"' : 'Bearer');
    }
  });

  it('every 401 carries a challenge (RFC 9110 §15.5.2), in hybrid and in stateful', async () => {
    const stateful = await startTestServer({ strategy: 'stateful' });
    try {
      for (const url of [server.url, stateful.url]) {
        const client = new Client(url);
        const answers = {
          'a wrong password': await client.post('/auth/login', { username: 'http-details', password: 'not the password' }),
          'a name with no account': await client.post('/auth/login', { username: 'nobody-here', password: 'not the password' }),
          'no credential': await client.get('/auth/sessions'),
          'a made-up refresh handle': await client.post('/auth/refresh', { refresh_token: 'made-up' }),
        };
        for (const [what, answer] of Object.entries(answers)) {
          if (answer.status === 404 && url === stateful.url) continue; // no refresh route in stateful
          assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
          assert.match(answer.headers.get('www-authenticate') ?? '', /^(Bearer|Cookie|Basic)\b/, `${what} at ${url}`);
        }
      }
    } finally {
      await stateful.stop();
    }
  });

  it('token responses are never cached: Cache-Control no-store and Pragma no-cache (RFC 6749 §5.1)', async () => {
    const login = await new Client(server.url).post('/auth/login', { username: 'http-details', password: PASSWORD, transport: 'body' });
    const renewed = await new Client(server.url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    for (const response of [login, renewed])
      assert.deepEqual([response.headers.get('cache-control'), response.headers.get('pragma')], ['no-store', 'no-cache']);
  });
});
