import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
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

/** The page's whole round: register, survive a reload, log out, stay logged out after a reload. */
async function pageRoundTrip(browser: Browser, url: string, username: string, strategy: string) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText(`Signed in as ${username}`).waitFor();
    assert.equal(await page.locator('#strategy').textContent(), strategy);
    await page.getByText('This device').waitFor();

    await page.reload();
    await page.getByText(`Signed in as ${username}`).waitFor();

    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    assert.equal(await page.getByText('Signed in as').isVisible(), false, 'still signed out after a reload');
  } finally {
    await context.close();
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
        const { createTesseraClient } = (await import('/tessera-client.js' as string)) as { createTesseraClient: (o: object) => Window['client'] };
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
    assert.equal(await one.evaluate(() => document.cookie + JSON.stringify(localStorage)), '{}', 'no credential script can read');

    // Both renewal timers fall due at the same instant, 2 seconds after the token was issued.
    const beforeRenewal = refreshes;
    await sleep(2_600);
    const [renewedOne, renewedTwo] = await Promise.all([tokenIn(one), tokenIn(two)]);
    assert.notEqual(renewedOne, a, 'renewed before expiry');
    assert.equal(renewedTwo, renewedOne, 'both tabs hold the one renewed token');
    assert.equal(refreshes - beforeRenewal, 1, 'one refresh served both tabs');
  });

  it('the self-service page signs in, survives a reload through the refresh cookie, and logs out', async (t) => {
    const browser = browserFor(t);
    if (browser) await pageRoundTrip(browser, server.url, `page${process.pid}`, 'hybrid');
  });

  it('the same page on a stateful server: the session cookie, no token', async (t) => {
    const browser = browserFor(t);
    if (!browser) return;
    const stateful = await startTestServer({ strategy: 'stateful' });
    try {
      await pageRoundTrip(browser, stateful.url, `cookie${process.pid}`, 'stateful');
    } finally {
      await stateful.stop();
    }
  });
});
