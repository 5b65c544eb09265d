import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { digest, type OAuthClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import type { Browser } from 'playwright-core';
import { useBrowser } from '../helpers/browser.js';
import { Client } from '../helpers/http-client.js';
import { authorizeInBrowser } from '../helpers/oauth-browser.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const SECRET = 'd'.repeat(40);
const CALLBACK = 'https://app.example/callback';
const CLIENTS: OAuthClient[] = [
  { id: 'spa', name: 'The SPA', redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] },
  { id: 'web', secretHash: digest(SECRET), redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] },
];
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** Calls `request` as oauth4webapi's documentation says: once, and once more with the nonce the server asked for. */
async function withNonceRetry<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return request();
  }
}

/**
 * oauth4webapi with DPoP (RFC 9449) at the token endpoint: the code and refresh grants bind the
 * tokens to the client's key, the server's nonce retried as the library does it; UserInfo with the
 * bound token.
 */
for (const mode of ['allowed', 'required'] as const) {
  describe(`oauth4webapi, code + PKCE + DPoP (--dpop ${mode})`, () => {
    let server: TestServer;
    let as: oauth.AuthorizationServer;
    let browser: Client;
    const browserOf = useBrowser();
    const username = `dora${mode}${process.pid}`;

    before(async () => {
      server = await startTestServer({ strategy: 'hybrid', dpop: mode, clients: CLIENTS });
      const issuer = new URL(server.url);
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
      browser = new Client(server.url);
      await browser.post('/auth/register', { username, password: PASSWORD });
      // The browser's own session: with DPoP required, a hybrid cookie login needs a proof too, so
      // the page would sign in with one; here the refresh cookie comes from an allowed-mode login.
      if (mode === 'allowed') await browser.post('/auth/login', { username, password: PASSWORD }, { origin: server.url });
    });
    after(() => server.stop());

    /**
     * The authorization response, checked by oauth4webapi (state, iss): from a browser already
     * signed in (a cookie jar), or from Chromium signing in on the page (with DPoP required, the
     * page's own login carries its proof).
     */
    async function authorize(client: oauth.Client, signedIn: Client | Browser) {
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: client.client_id,
        redirect_uri: CALLBACK,
        response_type: 'code',
        scope: 'openid',
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString();
      let callback: URL;
      if (signedIn instanceof Client) {
        const answer = await signedIn.get(url.pathname + url.search);
        assert.equal(answer.status, 303, JSON.stringify(answer.body));
        callback = new URL(answer.headers.get('location')!);
      } else {
        callback = await authorizeInBrowser(signedIn, url.href, CALLBACK, { username, password: PASSWORD });
      }
      const params = oauth.validateAuthResponse(as, client, callback, state);
      return { params, verifier };
    }

    it('a public client, Chromium signing in: the code grant binds the tokens to its key after a nonce retry; refresh and UserInfo need that key', async (t) => {
      const signedIn = browserOf(t);
      if (!signedIn) return;
      const client: oauth.Client = { client_id: 'spa' };
      const keyPair = await oauth.generateKeyPair('ES256');
      const DPoP = oauth.DPoP(client, keyPair);
      const { params, verifier } = await authorize(client, signedIn);
      const tokens = await withNonceRetry(async () =>
        oauth.processAuthorizationCodeResponse(
          as,
          client,
          await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, CALLBACK, verifier, { DPoP, ...insecure }),
          { requireIdToken: true },
        ),
      );
      assert.equal(tokens.token_type, 'dpop');
      const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
      assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt });

      const info = await withNonceRetry(async () =>
        oauth.processUserInfoResponse(
          as,
          client,
          oauth.skipSubjectCheck,
          await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure }),
        ),
      );
      assert.ok(info.sub);

      // Without the key, the refresh token is no use; with it, it renews, still bound.
      const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
      await assert.rejects(
        withNonceRetry(async () =>
          oauth.processRefreshTokenResponse(
            as,
            client,
            await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { DPoP: thief, ...insecure }),
          ),
        ),
        (error: unknown) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_dpop_proof',
      );
      const renewed = await withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { DPoP, ...insecure }),
        ),
      );
      assert.deepEqual(decodeJwt(renewed.access_token).cnf, { jkt });
    });

    it(
      mode === 'required' ? 'a token request without a proof is refused' : 'a token request without a proof gets bearer tokens',
      async () => {
        const signedIn = mode === 'allowed' ? browser : await dpopBrowser(server);
        const client: oauth.Client = { client_id: 'web' };
        const { params, verifier } = await authorize(client, signedIn);
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          client,
          oauth.ClientSecretBasic(SECRET),
          params,
          CALLBACK,
          verifier,
          insecure,
        );
        if (mode === 'required') {
          await assert.rejects(
            async () => oauth.processAuthorizationCodeResponse(as, client, response),
            (error: unknown) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_dpop_proof' && error.status === 400,
          );
        } else {
          const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
          assert.equal(tokens.token_type, 'bearer');
          assert.equal(decodeJwt(tokens.access_token).cnf, undefined);
        }
      },
    );
  });
}

/**
 * A browser signed in where DPoP is required: its login carries a proof (as the page's does), so
 * its refresh cookie is bound; the authorization endpoint only reads it.
 */
async function dpopBrowser(server: TestServer): Promise<Client> {
  const username = `dpb${Math.random().toString(36).slice(2, 8)}`;
  const signedIn = new Client(server.url);
  await signedIn.post('/auth/register', { username, password: PASSWORD });
  const keyPair = await oauth.generateKeyPair('ES256');
  // The login is no OAuth endpoint: its proof is made with jose, as the page makes its own.
  const jwk = await exportJWK(keyPair.publicKey);
  const proof = (nonce?: string) =>
    new SignJWT({ htm: 'POST', htu: `${server.url}/auth/login`, jti: crypto.randomUUID(), ...(nonce && { nonce }) })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setIssuedAt()
      .sign(keyPair.privateKey);
  const send = async (nonce?: string) =>
    signedIn.post('/auth/login', { username, password: PASSWORD }, { origin: server.url, dpop: await proof(nonce) });
  let answer = await send();
  if (answer.status === 401 && answer.headers.get('dpop-nonce')) answer = await send(answer.headers.get('dpop-nonce')!);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return signedIn;
}
