import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import * as jose from 'jose';
import * as openid from 'openid-client';
import { digest } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { useBrowser } from '../helpers/browser.js';
import { Client } from '../helpers/http-client.js';
import { signInOnPage } from '../helpers/oauth-browser.js';
import { listen } from '../helpers/listen.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const SECRET = 's'.repeat(44);

/**
 * openid-client (the OpenID-certified relying party library) against `tessera serve`, with Chromium
 * signing in on the server's page: discovery, code + PKCE, the ID token's checks, UserInfo, refresh.
 */
for (const strategy of ['hybrid', 'stateless', 'stateful'] as const) {
  describe(`openid-client, ${strategy}: sign in through the page in Chromium`, () => {
    const browserOf = useBrowser();
    let server: TestServer;
    let callback: Awaited<ReturnType<typeof listen>>;
    let config: openid.Configuration;
    let username: string;

    before(async () => {
      // The relying party's callback: it only has to answer for the browser to land.
      callback = await listen((_req, res) => void res.end('signed in'));
      server = await startTestServer({
        strategy,
        clients: [
          {
            id: 'webapp',
            secretHash: digest(SECRET),
            name: 'The Web App',
            redirectUris: [`${callback.url}/callback`],
            grantTypes: ['authorization_code', 'refresh_token'],
          },
        ],
      });
      config = await openid.discovery(new URL(server.url), 'webapp', SECRET, openid.ClientSecretBasic(SECRET), {
        execute: [openid.allowInsecureRequests],
      });
      username = `rita${strategy}${process.pid}`;
      await new Client(server.url).post('/auth/register', { username, password: PASSWORD });
    });
    after(async () => {
      callback.close();
      await server.stop();
    });

    /** The authorization request openid-client builds, and what it checks the answer against. */
    const start = async (extra: Record<string, string> = {}) => {
      const verifier = openid.randomPKCECodeVerifier();
      const state = openid.randomState();
      const nonce = openid.randomNonce();
      const url = openid.buildAuthorizationUrl(config, {
        redirect_uri: `${callback.url}/callback`,
        scope: 'openid profile',
        code_challenge: await openid.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...extra,
      });
      return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
    };

    it('discovery passes openid-client, and names every endpoint of the flow', () => {
      const metadata = config.serverMetadata();
      assert.equal(metadata.authorization_endpoint, `${server.url}/oauth/authorize`);
      assert.equal(metadata.token_endpoint, `${server.url}/oauth/token`);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      assert.deepEqual(
        metadata.grant_types_supported,
        strategy === 'hybrid' ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
      );
      for (const [name, value] of Object.entries(metadata)) assert.ok(!Array.isArray(value) || value.length > 0, `${name} is empty`);
    });

    it('code + PKCE through the sign-in page, the ID token verified, UserInfo, refresh; then SSO without the form', async (t: TestContext) => {
      const browser = browserOf(t);
      if (!browser) return;
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const first = await start();
        await page.goto(first.url.href);
        await page.getByText('Sign in to continue to The Web App').waitFor();
        await signInOnPage(page, { username, password: PASSWORD });
        await page.waitForURL(`${callback.url}/callback?**`);

        const tokens = await openid.authorizationCodeGrant(config, new URL(page.url()), first.checks);
        const claims = tokens.claims()!;
        assert.equal(claims.aud, 'webapp');
        assert.equal(claims.preferred_username, username);
        assert.ok(typeof claims.auth_time === 'number' && typeof claims.sid === 'string');
        assert.equal(jose.decodeJwt(tokens.access_token).client_id, 'webapp');
        const info = await openid.fetchUserInfo(config, tokens.access_token, claims.sub);
        assert.equal(info.preferred_username, username);

        // The browser keeps a session the server can see (the refresh cookie, the session cookie):
        // the user sees the app among their devices, by its name, and revokes it from the page.
        const signedInAtServer = strategy !== 'stateless';
        let latest: { access_token: string; refresh_token?: string | undefined } = tokens;
        if (strategy === 'hybrid') {
          latest = await openid.refreshTokenGrant(config, tokens.refresh_token!);
          assert.notEqual(latest.refresh_token, tokens.refresh_token, 'rotated');
          assert.equal(jose.decodeJwt(latest.access_token).sid, claims.sid, 'the same session');
        } else {
          assert.equal(tokens.refresh_token, undefined, `${strategy}: no refresh tokens`);
        }
        if (signedInAtServer) {
          await page.goto(`${server.url}/`);
          const row = page.getByRole('row', { name: /The Web App \(app\)/ });
          await row.waitFor();
          await row.getByRole('button', { name: /^Revoke/ }).click();
          await page.getByText('Device signed out.').waitFor();
          const me = await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${latest.access_token}` } });
          assert.equal(me.status, 401, 'revoked means dead for the app');
          if (latest.refresh_token) await assert.rejects(openid.refreshTokenGrant(config, latest.refresh_token));
        }

        // Signed in at the server, the next client authorization comes straight back, no form.
        // Stateless keeps its token in page memory only.
        const second = await start();
        await page.goto(second.url.href);
        if (signedInAtServer) {
          await page.waitForURL(`${callback.url}/callback?**`);
          const again = await openid.authorizationCodeGrant(config, new URL(page.url()), second.checks);
          assert.equal(again.claims()!.auth_time, claims.auth_time, 'the same sign-in');
          assert.notEqual(again.claims()!.sid, claims.sid, 'a session of its own');
        } else {
          await page.getByText('Sign in to continue to The Web App').waitFor();
        }

        // prompt=login: the form even with a session, and a newer sign-in in the ID token.
        const third = await start({ prompt: 'login' });
        await page.goto(third.url.href);
        await page.getByText('Sign in to continue to The Web App').waitFor();
        await signInOnPage(page, { username, password: PASSWORD });
        await page.waitForURL(`${callback.url}/callback?**`);
        const fresh = await openid.authorizationCodeGrant(config, new URL(page.url()), third.checks);
        assert.ok((fresh.claims()!.auth_time as number) >= (claims.auth_time as number));
      } finally {
        await context.close();
      }
    });

    it('a wrong password on the page keeps the user there, and nothing reaches the client', async (t: TestContext) => {
      const browser = browserOf(t);
      if (!browser) return;
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto((await start()).url.href);
        await signInOnPage(page, { username, password: 'wrong password!' });
        await page.getByText('The username or password is incorrect.').waitFor();
        assert.ok(page.url().startsWith(`${server.url}/oauth/authorize?`));
      } finally {
        await context.close();
      }
    });
  });
}
