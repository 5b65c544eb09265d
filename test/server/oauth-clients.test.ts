import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it, type TestContext } from 'node:test';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { parseClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { parseService } from '../../packages/tessera-auth-server/src/server/service-grants.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
/** As `openssl rand -base64 32` makes them: `+` and `/` included. */
const SECRET = 'k3+Vq/9xZ+Lm2wR8tY5uI0oP7aS4dF6g+H1jK2lM3n=';
const PYTHON = '/usr/bin/python3';
const insecure = { [oauth.allowInsecureRequests]: true };
const run = promisify(execFile);

/** The clients OAuth deployments already use, against a real server: discovery, RFC 9068, RFC 7662, RFC 7009. */
describe('third-party OAuth clients against tessera serve', () => {
  let server: TestServer;
  let token: string;
  let username: string;
  before(async () => {
    server = await startTestServer({
      strategy: 'hybrid',
      clients: [parseClient(`gateway:${SECRET}`)],
      services: [parseService('orders orders:read')],
    });
    username = `ana${process.pid}`;
    const client = new Client(server.url);
    await client.post('/auth/register', { username, password: PASSWORD });
    token = (await client.post('/auth/login', { username, password: PASSWORD, transport: 'body' })).body.access_token as string;
  });
  after(() => server.stop());

  const freshToken = async () =>
    (await new Client(server.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' })).body.access_token as string;

  it('oauth4webapi: discovery (RFC 8414 and the OpenID location), introspection, JWT access-token validation (RFC 9068), revocation', async () => {
    const issuer = new URL(server.url);
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const metadata = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm, ...insecure }));
      assert.equal(metadata.introspection_endpoint, `${server.url}/oauth/introspect`, algorithm);
    }
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.deepEqual(as.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
    const client: oauth.Client = { client_id: 'gateway' };
    const auth = oauth.ClientSecretBasic(SECRET);

    const introspected = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, token, insecure),
    );
    assert.deepEqual(
      [introspected.active, introspected.token_type, introspected.client_id, introspected.sub !== undefined],
      [true, 'Bearer', 'tessera', true],
    );

    const request = new Request('https://api.example/', { headers: { authorization: `Bearer ${token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, server.url, insecure);
    assert.equal(claims.client_id, 'tessera');
    assert.equal(claims.iss, server.url);

    const doomed = await freshToken();
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, doomed, insecure));
    const after = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, doomed, insecure),
    );
    assert.equal(after.active, false);

    // OAuth errors reach the client as such (RFC 6749 §5.2 JSON), not as an unexpected content type.
    await assert.rejects(
      async () =>
        oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, 'x'.repeat(9_000), insecure)),
      (error: unknown) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_request' && error.status === 400,
    );
    const wrong = oauth.ClientSecretBasic(`${SECRET}x`);
    await assert.rejects(
      async () => oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, wrong, token, insecure)),
      (error: unknown) =>
        error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401 && error.cause[0]?.scheme === 'basic',
    );
  });

  it('openid-client: discovery from the issuer alone, introspection and revocation', async () => {
    const config = await openid.discovery(new URL(server.url), 'gateway', SECRET, openid.ClientSecretBasic(SECRET), {
      execute: [openid.allowInsecureRequests],
    });
    const introspected = await openid.tokenIntrospection(config, token);
    assert.deepEqual([introspected.active, introspected.username], [true, username]);
    const doomed = await freshToken();
    await openid.tokenRevocation(config, doomed);
    assert.equal((await openid.tokenIntrospection(config, doomed)).active, false);
  });

  it('jose: the access token verifies against the JWKS with every RFC 9068 check', async () => {
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      typ: 'at+jwt',
      issuer: server.url,
      audience: server.url,
      requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.client_id, 'tessera');
  });

  it('PyJWT (Debian) requiring client_id, with the key from the served JWKS', async (t: TestContext) => {
    if (!hasPyJwt(t)) return;
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const request = {
      op: 'verify',
      jwks,
      token,
      alg: 'EdDSA',
      issuer: server.url,
      audience: server.url,
      require: ['exp', 'iat', 'sub', 'jti', 'client_id'],
    };
    const result = spawnSync(PYTHON, ['test/tokens/pyjwt.py'], { input: JSON.stringify(request), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { claims: { client_id: string } }).claims.client_id, 'tessera');
  });

  it('curl -u with a secret containing "+", sent raw as curl sends it', async () => {
    // Asynchronously: the server answers from this very process.
    const curl = (secret: string) =>
      run('curl', ['-sS', '-u', `gateway:${secret}`, '-d', `token=${encodeURIComponent(token)}`, `${server.url}/oauth/introspect`]);
    assert.equal((JSON.parse((await curl(SECRET)).stdout) as { active: boolean }).active, true);
    assert.equal(
      (JSON.parse((await curl(SECRET.replace('+', ' '))).stdout) as { error: string }).error,
      'invalid_client',
      'a space is not a plus',
    );
  });
});

function hasPyJwt(t: TestContext): boolean {
  if (spawnSync(PYTHON, ['-c', 'import jwt, cryptography']).status === 0) return true;
  if (process.env.CI) throw new Error('PyJWT (apt-get install python3-jwt python3-cryptography) is required under CI.');
  t.skip('PyJWT is not installed');
  return false;
}
