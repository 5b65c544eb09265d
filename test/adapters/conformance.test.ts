import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuth, type Auth } from '../../packages/tessera-auth/src/core/create-auth.js';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import type { ErrorReporter, UnexpectedError } from '../../packages/tessera-auth/src/base/error-report.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import {
  createDpopNonces,
  createKeyRing,
  createTokenIssuer,
  generateJwk,
  importKey,
} from '../../packages/tessera-auth/src/tokens/index.js';
import { claimsOf, DpopHolder } from '../helpers/dpop-holder.js';
import { Client } from '../helpers/http-client.js';
import { ADAPTERS, type AdapterApp } from './apps.js';

/**
 * One suite, every adapter, every strategy: the same requests must get the same statuses, headers,
 * cookies and problem bodies whether the app is on Express, Fastify, Hono or a bare fetch handler.
 */
const EVIL = { origin: 'http://evil.example' };
const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);

function authFor(strategy: Strategy, onError: ErrorReporter): Auth {
  return createAuth({
    strategy,
    store: createMemoryStore(),
    cookie: { secure: false },
    refresh: { graceSeconds: 0 },
    tokens: { keys, issuer: 'https://id.example' },
    onError,
  });
}

const setCookies = (response: { headers: Headers }) => response.headers.getSetCookie();

for (const [adapter, build] of Object.entries(ADAPTERS)) {
  for (const strategy of ['stateful', 'stateless', 'hybrid'] as const) {
    describe(`${adapter}, ${strategy}`, () => {
      let auth: Auth;
      let app: AdapterApp;
      const reported: UnexpectedError[] = [];
      before(async () => {
        auth = authFor(strategy, (report) => void reported.push(report));
        app = await build(auth);
      });
      after(async () => {
        await app.close();
        auth.close();
        await auth.store.close();
      });

      const tokens = strategy !== 'stateful';
      /** A signed-in client: the cookie jar (stateful, hybrid refresh) and the bearer header (token strategies). */
      async function signIn(id: string, roles: string[] = ['user'], transport?: 'body') {
        const client = new Client(app.url);
        const login = await client.post('/login', { id, roles, ...(transport && { transport }) });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        if (tokens) client.defaults.authorization = `Bearer ${login.body.access_token as string}`;
        return { client, login };
      }

      it('anonymous: 401 problem+json, with a bearer challenge where tokens are the credential, a cookie one otherwise', async () => {
        const answer = await new Client(app.url).get('/me');
        assert.equal(answer.status, 401);
        assert.equal(answer.headers.get('content-type'), 'application/problem+json');
        assert.equal(answer.body.code, 'unauthenticated');
        assert.equal(answer.headers.get('www-authenticate'), tokens ? 'Bearer' : 'Cookie realm="tessera"');
      });

      it('signed in: the same auth shape; a missing role is 403', async () => {
        const { client } = await signIn('ana');
        const mine = await client.get('/me');
        assert.equal(mine.status, 200);
        assert.deepEqual(mine.body, { id: 'ana', roles: ['user'], strategy, scheme: tokens ? 'bearer' : 'cookie' });
        const admin = await client.get('/admin');
        assert.equal(admin.status, 403);
        assert.equal(admin.body.code, 'forbidden');
        assert.equal(admin.headers.get('www-authenticate'), tokens ? 'Bearer error="insufficient_scope"' : null);
        assert.equal((await (await signIn('root', ['admin'])).client.get('/admin')).status, 200);
      });

      it("a public route ignores a stray Authorization header: a proxy's Basic, garbage, another issuer's token", async () => {
        const foreign = importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') });
        const otherIssuer = createTokenIssuer({
          keys: createKeyRing([{ key: foreign, status: 'active' }]),
          issuer: 'https://other.example',
          ttlSeconds: 60,
        });
        for (const authorization of [
          'Basic dXNlcjpwYXNz',
          'Bearer not.a.token',
          'Bearer',
          `Bearer ${otherIssuer.issue({ sub: 'x', aud: 'https://id.example' }).token}`,
        ]) {
          const login = await new Client(app.url, { authorization }).post('/login', { id: 'hana', roles: ['user'] });
          assert.equal(login.status, 200, `${authorization.slice(0, 20)}: ${JSON.stringify(login.body)}`);
        }
      });

      it('a TesseraError thrown by a route becomes its problem+json', async () => {
        const answer = await new Client(app.url).get('/boom');
        assert.equal(answer.status, 400);
        assert.equal(answer.headers.get('content-type'), 'application/problem+json');
        assert.deepEqual(answer.body, {
          type: 'urn:tessera:error:invalid_request',
          title: 'Invalid request',
          status: 400,
          code: 'invalid_request',
          detail: 'Boom.',
        });
      });

      it('a bug in a route: 500 that tells nothing but an error id, and the error reported to onError under that id', async () => {
        reported.length = 0;
        const answer = await new Client(app.url).get('/bug?secret=1');
        assert.equal(answer.status, 500);
        const id = answer.body.error_id as string;
        assert.match(id, /^[0-9a-f-]{13}$/);
        assert.deepEqual(answer.body, {
          type: 'urn:tessera:error:internal',
          title: 'Internal error',
          status: 500,
          code: 'internal',
          detail: `Something went wrong (error ${id}).`,
          error_id: id,
        });
        assert.equal(reported.length, 1);
        const [report] = reported;
        assert.deepEqual([report!.id, report!.method, report!.path], [id, 'GET', '/bug'], 'the path, never the query');
        assert.ok(report!.error instanceof TypeError);
      });

      it('logout kills the credential; logout-all kills every one of the user', async () => {
        const { client } = await signIn('bea');
        const other = (await signIn('bea')).client;
        assert.equal((await client.post('/logout')).status, 204);
        assert.equal((await client.get('/me')).status, 401);
        assert.equal((await other.get('/me')).status, 200);
        const third = (await signIn('bea')).client;
        assert.equal((await third.post('/logout-all')).status, 204);
        assert.equal((await other.get('/me')).status, 401);
        assert.equal((await third.get('/me')).status, 401);
      });

      if (strategy === 'stateful') {
        it('the session cookie: HttpOnly, SameSite=Lax, Path=/; cleared at logout and when unknown', async () => {
          const { client, login } = await signIn('caio');
          assert.match(setCookies(login)[0] ?? '', /^tessera=[\w-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
          const logout = await client.post('/logout');
          assert.match(setCookies(logout)[0] ?? '', /^tessera=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/);
          const forged = await new Client(app.url, { cookie: 'tessera=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }).get('/me');
          assert.equal(forged.status, 401);
          assert.match(setCookies(forged)[0] ?? '', /^tessera=; /);
        });

        it('a cross-site POST with the cookie is refused 403 csrf before it acts; the same origin passes', async () => {
          const { client } = await signIn('dani');
          const refused = await client.post('/logout-all', undefined, EVIL);
          assert.equal(refused.status, 403);
          assert.equal(refused.body.code, 'csrf');
          assert.equal((await client.get('/me')).status, 200, 'nothing happened');
          assert.equal((await client.post('/logout', undefined, { origin: app.url })).status, 204);
        });
      } else {
        it('a malformed or forged bearer token is 401 invalid_token; another scheme gets a bare challenge (RFC 6750 §3.1)', async () => {
          for (const authorization of ['Bearer not.a.token', 'Bearer ' + 'e'.repeat(9000)]) {
            const answer = await new Client(app.url, { authorization }).get('/me');
            assert.equal(answer.status, 401, authorization.slice(0, 20));
            assert.equal(answer.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
            assert.match(answer.body.code as string, /^token_/);
          }
          const basic = await new Client(app.url, { authorization: 'Basic dXNlcjpwYXNz' }).get('/me');
          assert.deepEqual([basic.status, basic.headers.get('www-authenticate'), basic.body.code], [401, 'Bearer', 'unauthenticated']);
        });

        it('logging out with a dead token says so instead of pretending', async () => {
          const { client } = await signIn('ivo');
          assert.equal((await client.post('/logout')).status, 204);
          const again = await client.post('/logout');
          assert.deepEqual([again.status, again.body.code], [401, 'token_revoked']);
          assert.deepEqual(setCookies(again), [], 'a refused logout clears no cookie (hybrid: the refresh handle stays)');
        });
      }

      if (strategy === 'hybrid') {
        it('refresh by cookie rotates the handle, even with an expired token in the header; reuse is theft', async () => {
          const { client, login } = await signIn('eva');
          const first = setCookies(login).find((c) => c.startsWith('tessera-refresh='));
          assert.match(first ?? '', /^tessera-refresh=[\w-]+\.[\w-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
          client.defaults.authorization = 'Bearer expired.or.garbage';
          const renewed = await client.post('/auth/refresh');
          assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
          assert.equal(renewed.headers.get('cache-control'), 'no-store');
          assert.deepEqual(Object.keys(renewed.body).sort(), ['access_token', 'expires_in', 'session', 'token_type']);
          assert.notEqual(setCookies(renewed)[0], first);

          const replay = await new Client(app.url, { cookie: first!.split(';')[0]! }).post('/auth/refresh');
          assert.equal(replay.status, 401);
          assert.equal(replay.body.code, 'refresh_token_reused');
          assert.match(setCookies(replay)[0] ?? '', /^tessera-refresh=; Path=\/; Expires=Thu, 01 Jan 1970/);
          assert.equal(
            (await new Client(app.url, { authorization: `Bearer ${renewed.body.access_token as string}` }).get('/me')).status,
            401,
            'theft ends the session',
          );
        });

        it('refresh by body for mobile clients; a cross-site refresh by cookie is 403 csrf', async () => {
          const { login } = await signIn('fia', ['user'], 'body');
          assert.deepEqual(setCookies(login), []);
          const renewed = await new Client(app.url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
          assert.equal(renewed.status, 200);
          assert.equal(typeof renewed.body.refresh_token, 'string');

          const browser = (await signIn('gil')).client;
          const refused = await browser.post('/auth/refresh', undefined, EVIL);
          assert.equal(refused.status, 403);
          assert.equal(refused.body.code, 'csrf');
          assert.equal((await browser.post('/auth/refresh')).status, 200, 'the handle was not spent');
        });
      }
    });
  }
}

for (const [adapter, build] of Object.entries(ADAPTERS)) {
  describe(`${adapter}, hybrid with DPoP required`, () => {
    const ORIGIN = 'https://app.example';
    let nonceClockOffset = 0;
    let auth: Auth;
    let app: AdapterApp;
    before(async () => {
      const nonces = createDpopNonces({ secret: Buffer.alloc(32, 7), clock: { now: () => Date.now() + nonceClockOffset } });
      auth = createAuth({
        strategy: 'hybrid',
        store: createMemoryStore(),
        cookie: { secure: false },
        tokens: { keys, issuer: ORIGIN, dpop: { mode: 'required', nonces } },
      });
      app = await build(auth);
    });
    after(async () => {
      await app.close();
      auth.close();
      await auth.store.close();
    });

    it('nonce, bound login, DPoP requests, bound renewal; a proof with the previous nonce is answered with the next one', async () => {
      const holder = await DpopHolder.create('ES256');
      const first = await holder.request(app.url, 'POST', '/login', {
        json: { id: 'ana', roles: ['user'], transport: 'body' },
        origin: ORIGIN,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.token_type, 'DPoP');
      assert.deepEqual(claimsOf(first.body.access_token).cnf, { jkt: holder.jkt });
      const token = first.body.access_token as string;
      const me = await holder.request(app.url, 'GET', '/me', { token, origin: ORIGIN });
      assert.deepEqual([me.status, me.body.id, me.body.scheme], [200, 'ana', 'dpop']);
      const asBearer = await new Client(app.url, { authorization: `Bearer ${token}` }).get('/me');
      assert.deepEqual([asBearer.status, asBearer.headers.get('www-authenticate')], [401, 'Bearer error="invalid_token"']);
      // A valid but unbound token (signed with the same keys, as a server in another mode would): not accepted here.
      const unbound = createTokenIssuer({ keys, issuer: ORIGIN, ttlSeconds: 60 }).issue({
        sub: 'ana',
        aud: ORIGIN,
        claims: { sid: claimsOf(token).sid, roles: ['user'] },
      }).token;
      const refused = await new Client(app.url, { authorization: `Bearer ${unbound}` }).get('/me');
      assert.deepEqual([refused.status, refused.body.code], [401, 'token_invalid']);

      const used = holder.nonce;
      nonceClockOffset += 60_000; // the next nonce window: the previous nonce is still good, once more
      const late = await holder.request(app.url, 'GET', '/me', { token, origin: ORIGIN });
      assert.equal(late.status, 200);
      assert.ok(late.headers.get('dpop-nonce') && late.headers.get('dpop-nonce') !== used, 'the answer hands out the current nonce');

      const renewed = await holder.request(app.url, 'POST', '/auth/refresh', {
        json: { refresh_token: first.body.refresh_token },
        origin: ORIGIN,
      });
      assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
      assert.equal(renewed.body.token_type, 'DPoP');
      const unproven = await new Client(app.url).post('/auth/refresh', { refresh_token: renewed.body.refresh_token });
      assert.deepEqual([unproven.status, unproven.body.code], [401, 'invalid_dpop_proof']);
    });
  });
}
