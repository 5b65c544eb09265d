import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowser } from '../helpers/browser.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

declare global {
  interface Window {
    client: { getAccessToken(): Promise<string | null> };
  }
}

/**
 * The browser client in real Chromium against a real hybrid server. Every refresh request is
 * counted and held back 200 ms, so tabs that ask at the same moment truly overlap.
 */
describe('tessera/client in Chromium', () => {
  const browserFor = useBrowser();
  let server: TestServer;
  let refreshes = 0;

  before(async () => {
    // 32-second tokens renewed 30 seconds early: a renewal every 2 seconds.
    server = await startTestServer({ strategy: 'hybrid', store: 'sqlite', accessTtl: 32 });
    const [handler] = server.server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.server.removeAllListeners('request');
    server.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/auth/refresh') return handler!(req, res);
      refreshes++;
      setTimeout(() => handler!(req, res), 200);
    });
  });
  after(() => server.stop());

  /** Tabs on a plain page of the server's origin (not the self-service page, which has a client of its own). */
  async function signedInTabs(t: Parameters<typeof browserFor>[0], username: string) {
    const browser = browserFor(t);
    if (!browser) return undefined;
    const context = await browser.newContext();
    t.after(() => context.close());
    assert.equal((await new Client(server.url).post('/auth/register', { username, password: PASSWORD })).status, 201);
    // Logged in through the context's own cookie jar: the tabs start with the refresh cookie and no token.
    const login = await context.request.post(`${server.url}/auth/login`, { data: { username, password: PASSWORD } });
    assert.equal(login.status(), 200);
    const open = async () => {
      const page = await context.newPage();
      await page.goto(`${server.url}/healthz`);
      await page.evaluate(async () => {
        const { createTesseraClient } = (await import('/tessera-client.js' as string)) as {
          createTesseraClient: (o: object) => Window['client'];
        };
        window.client = createTesseraClient({ name: 'test' });
      });
      return page;
    };
    return [await open(), await open()] as const;
  }

  const tokenIn = (page: Page) => page.evaluate(() => window.client.getAccessToken());

  it('two tabs asking at once share one refresh, then renew ahead of expiry once for both', async (t) => {
    const tabs = await signedInTabs(t, `tabs${process.pid}`);
    if (!tabs) return;
    const [one, two] = tabs;

    const before = refreshes;
    const [a, b] = await Promise.all([tokenIn(one), tokenIn(two)]);
    assert.ok(a);
    assert.equal(b, a, 'both tabs hold the one new token');
    assert.equal(refreshes - before, 1, 'one refresh served both tabs');
    assert.equal(
      await one.evaluate(() => document.cookie + JSON.stringify(localStorage)),
      'tessera-signed-in=refresh{}',
      'no credential script can read, only the hint',
    );

    // Both renewal timers fall due at the same instant, 2 seconds after the token was issued.
    const beforeRenewal = refreshes;
    await sleep(2_600);
    const [renewedOne, renewedTwo] = await Promise.all([tokenIn(one), tokenIn(two)]);
    assert.notEqual(renewedOne, a, 'renewed before expiry');
    assert.equal(renewedTwo, renewedOne, 'both tabs hold the one renewed token');
    assert.equal(refreshes - beforeRenewal, 1, 'one refresh served both tabs');
  });
});
