import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { useBrowser } from '../helpers/browser.js';
import { listen } from '../helpers/listen.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/**
 * A single-page app on its own origin calls the token endpoint from the browser: Chromium lets it
 * read the answer when the origin is a public client's (its redirect URI's), and blocks any other.
 */
describe('OAuth token endpoint: CORS for single-page apps, in Chromium', () => {
  const browserOf = useBrowser();
  let server: TestServer;
  const page = () => listen((_req, res) => void res.setHeader('content-type', 'text/html').end('<!doctype html><title>app</title>'));
  let app: Awaited<ReturnType<typeof listen>>;
  let stranger: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    [app, stranger] = [await page(), await page()];
    server = await startTestServer({
      strategy: 'hybrid',
      clients: [{ id: 'spa', redirectUris: [`${app.url}/callback`], grantTypes: ['authorization_code', 'refresh_token'] }],
    });
  });
  after(async () => {
    app.close();
    stranger.close();
    await server.stop();
  });

  /** What a script on `origin` gets from a token request: the OAuth error it could read, or "blocked". */
  async function tokenRequestFrom(t: TestContext, origin: string): Promise<string | undefined> {
    const browser = browserOf(t);
    if (!browser) return undefined;
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(origin);
      return await tab.evaluate(async (tokenEndpoint) => {
        try {
          const response = await fetch(tokenEndpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: 'not-a-proof' },
            body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'spa', code: 'x', code_verifier: 'y'.repeat(43) }),
          });
          return ((await response.json()) as { error: string }).error;
        } catch {
          return 'blocked';
        }
      }, `${server.url}/oauth/token`);
    } finally {
      await context.close();
    }
  }

  it("the app's origin reads the answer (a preflight for the DPoP header included); another origin is blocked", async (t) => {
    const fromApp = await tokenRequestFrom(t, app.url);
    if (fromApp === undefined) return;
    // The answer reached the script: the code is refused (the made-up proof, with DPoP off, is ignored).
    assert.equal(fromApp, 'invalid_grant');
    assert.equal(await tokenRequestFrom(t, stranger.url), 'blocked');
  });
});
