import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { useBrowser } from '../helpers/browser.js';
import { listen } from '../helpers/listen.js';
import { logRequests, type LoggedRequest } from '../helpers/request-log.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
/** Each suite has a server of its own; readable names make readable screenshots. */
const NAMES = ['ana', 'bruno', 'carla', 'dora'];
let users = 0;
const username = () => NAMES[users++ % NAMES.length]!;

/**
 * Screenshots for the README: written to docs/screenshots when UPDATE_SCREENSHOTS=1, to a scratch
 * directory otherwise (taken either way, so the flow that makes them is always exercised).
 */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'tessera-shots-'));
mkdirSync(SCREENSHOTS, { recursive: true });

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}/`);
  return page;
}

async function submitCredentials(page: Page, name: string, action: 'Register' | 'Log in') {
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: action, exact: true }).click();
  await page.getByText(`Signed in as ${name}`).waitFor();
}

const deviceRows = (page: Page) => page.locator('#devices tr');
const signedOut = (page: Page) => page.getByRole('button', { name: 'Log in', exact: true }).waitFor();

for (const strategy of ['stateful', 'hybrid'] as const) {
  describe(`the self-service page in Chromium (${strategy})`, () => {
    const browserFor = useBrowser();
    let server: TestServer;
    /** What the server received: the attack test checks the browser did send the cookie. */
    let received: LoggedRequest[] = [];
    before(async () => {
      server = await startTestServer({ strategy, store: 'sqlite' });
      received = logRequests(server.server);
    });
    after(() => server.stop());

    async function freshContext(t: TestContext): Promise<BrowserContext | undefined> {
      const browser: Browser | undefined = browserFor(t);
      if (!browser) return undefined;
      const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
      t.after(() => context.close());
      return context;
    }

    it('register, log in, survive a reload, see the device list, log out; no script can read the credential cookie', async (t) => {
      const context = await freshContext(t);
      if (!context) return;
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (message) => void (message.type() === 'error' && consoleErrors.push(message.text())));
      page.on('response', (response) => void (response.status() >= 400 && consoleErrors.push(`${response.status()} ${response.url()}`)));
      await page.goto(`${server.url}/`);
      await signedOut(page);
      if (strategy === 'hybrid') await page.screenshot({ path: join(SCREENSHOTS, 'signed-out.png') });
      const name = username();
      await submitCredentials(page, name, 'Register');
      assert.equal(await page.locator('#message').getAttribute('class'), 'success', '"Welcome." is not styled as an error');
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await signedOut(page);

      await submitCredentials(page, name, 'Log in');
      await page.reload(); // the credential cookie brings the session back (hybrid: a refresh)
      await page.getByText(`Signed in as ${name}`).waitFor();
      assert.equal(await page.locator('#strategy').textContent(), strategy);
      // The session's end (24 h idle timeout), not the five-minute access token's.
      const sessionEnds = await page.evaluate(() =>
        [0, 60_000].map((skew) =>
          new Date(Date.now() + 86_400_000 - skew).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
        ),
      );
      assert.ok(
        sessionEnds.includes((await page.locator('#expires').textContent()) ?? ''),
        `${await page.locator('#expires').textContent()} vs ${sessionEnds.join(' / ')}`,
      );
      await page.getByText('This device').waitFor();
      assert.equal(await deviceRows(page).count(), 1);
      assert.match((await deviceRows(page).first().textContent()) ?? '', /Chrome on Linux.*127\.0\.0\.1/);

      const cookies = await context.cookies();
      const credential = cookies.find((c) => c.name === (strategy === 'stateful' ? 'tessera' : 'tessera-refresh'));
      assert.ok(credential, `the browser holds the ${strategy} cookie: ${cookies.map((c) => c.name).join(', ')}`);
      assert.equal(credential.httpOnly, true);
      assert.equal(credential.sameSite, 'Lax');
      const hint = `tessera-signed-in=${strategy === 'stateful' ? 'session' : 'refresh'}`;
      assert.equal(await page.evaluate(() => document.cookie), hint, 'document.cookie shows the hint, never a credential');
      assert.equal(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)), '{}{}');

      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await signedOut(page);
      await page.reload();
      await signedOut(page);
      assert.deepEqual(consoleErrors, [], 'signed-out and signed-in loads ask only what applies: no 401 or 404 in the console');
    });

    it('the page runs only its own files: it works with no policy violation, and injected inline script is refused', async (t) => {
      const context = await freshContext(t);
      if (!context) return;
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`${server.url}/`);
      await submitCredentials(page, username(), 'Register');
      assert.deepEqual(violations, [], 'the page itself needs nothing the policy forbids');

      // What an injection (stored markup, a compromised dependency writing to the DOM) would try.
      const ran = await page.evaluate(async () => {
        const flags = window as unknown as Record<string, unknown>;
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.body.append(script);
        const image = document.createElement('img');
        image.setAttribute('onerror', 'window.handlerRan = true');
        image.src = 'data:,not-an-image';
        document.body.append(image);
        const style = document.createElement('style');
        style.textContent = 'body { display: none }';
        document.head.append(style);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return {
          inline: flags.inlineRan === true,
          handler: flags.handlerRan === true,
          hidden: getComputedStyle(document.body).display === 'none',
        };
      });
      assert.deepEqual(ran, { inline: false, handler: false, hidden: false });
      assert.ok(violations.length >= 2, `the browser reported the refusals: ${violations.join(' | ')}`);
    });

    it('revoking the other device signs it out on its next action', async (t) => {
      const first = await freshContext(t);
      const second = await freshContext(t);
      if (!first || !second) return;
      const name = username();
      const mine = await openPage(first, server.url);
      await submitCredentials(mine, name, 'Register');
      const theirs = await openPage(second, server.url);
      await submitCredentials(theirs, name, 'Log in');

      await mine.getByRole('button', { name: 'Refresh' }).click();
      await assertRows(mine, 2);
      if (strategy === 'hybrid') await mine.screenshot({ path: join(SCREENSHOTS, 'account.png'), fullPage: true });
      await mine.getByRole('button', { name: /^Revoke / }).click();
      await mine.getByText('Device signed out.').waitFor();
      await assertRows(mine, 1);

      await theirs.getByRole('button', { name: 'Refresh' }).click();
      await signedOut(theirs);
      await theirs.getByText('Your session has ended. Please log in again.').waitFor();
      await mine.getByRole('button', { name: 'Refresh' }).click();
      await mine.getByText(`Signed in as ${name}`).waitFor();
    });

    it('a page of another origin cannot act with the cookie: form and fetch get 403 csrf, nothing changes', async (t) => {
      const context = await freshContext(t);
      if (!context) return;
      const victim = await openPage(context, server.url);
      const name = username();
      await submitCredentials(victim, name, 'Register');

      // Stateful: the session cookie rides on logout-all. Hybrid: the only cookie is the refresh
      // handle, whose route is /auth/refresh. Another port of 127.0.0.1 is the same *site*, so
      // SameSite=Lax does send the cookie: only the Origin check stands in the way.
      const target = `${server.url}${strategy === 'stateful' ? '/auth/logout-all' : '/auth/refresh'}`;
      const attacker = await listen((req, res) => {
        res.setHeader('content-type', 'text/html');
        if (req.url === '/form') {
          res.end(`<form method="post" action="${target}"><input name="x" value="1"></form><script>document.forms[0].submit()</script>`);
        } else {
          res.end(
            `<script>fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' }).catch(() => {})</script>`,
          );
        }
      });
      t.after(() => attacker.close());
      const evil = await context.newPage();

      for (const path of ['/form', '/fetch']) {
        const answered = evil.waitForResponse(target);
        await evil.goto(`${attacker.url}${path}`);
        assert.equal((await answered).status(), 403, `${path}: refused`);
        const sent = received.findLast((request) => target.endsWith(request.url));
        assert.equal(sent?.headers.origin, attacker.url, `${path}: sent from the attacker's origin`);
        assert.match(sent.headers.cookie ?? '', /\btessera(-refresh)?=/, `${path}: with the cookie`);
        assert.equal(sent.status, 403);
        assert.equal((JSON.parse(sent.body ?? '{}') as { code?: string }).code, 'csrf');
      }

      await victim.getByRole('button', { name: 'Refresh' }).click();
      await victim.getByText(`Signed in as ${name}`).waitFor();
      await assertRows(victim, 1);
      await victim.reload(); // hybrid: the refresh handle still works, so it was neither used nor rotated
      await victim.getByText(`Signed in as ${name}`).waitFor();
    });
  });
}

async function assertRows(page: Page, count: number) {
  for (const deadline = Date.now() + 5_000; (await deviceRows(page).count()) !== count && Date.now() < deadline;)
    await page.waitForTimeout(50);
  assert.equal(await deviceRows(page).count(), count);
}

describe('the self-service page in Chromium (stateless)', () => {
  const browserFor = useBrowser();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ strategy: 'stateless', store: 'sqlite' });
  });
  after(() => server.stop());

  it('register, see the device list, log out; the token lives in memory only, so a reload signs out', async (t) => {
    const browser = browserFor(t);
    if (!browser) return;
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await openPage(context, server.url);
    await submitCredentials(page, 'dora', 'Register');
    assert.equal(await page.locator('#strategy').textContent(), 'stateless');
    await page.getByText('This device').waitFor();
    assert.deepEqual(await context.cookies(), [], 'no cookie at all');
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await signedOut(page);

    await submitCredentials(page, 'dora', 'Log in');
    await page.reload();
    await signedOut(page);
  });
});
