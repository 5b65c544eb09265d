import type { Browser, Page } from 'playwright-core';

/** Fills the server's sign-in form and submits it, as a user would. */
export async function signInOnPage(page: Page, credentials: { username: string; password: string }): Promise<void> {
  await page.getByLabel('Username').fill(credentials.username);
  await page.getByLabel('Password', { exact: true }).fill(credentials.password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

/**
 * The authorization step of an OAuth flow in Chromium: the browser opens `authorizationUrl`, signs
 * in on the server's page (when it asks), and lands on the client's redirect URI, which is answered
 * inside the browser (no request leaves it). Returns where it landed: the callback URL with the code.
 * A fresh context has no session, so the way back is the page's own navigation after the sign-in,
 * which the route catches (an HTTP redirect's target would not be).
 */
export async function authorizeInBrowser(
  browser: Browser,
  authorizationUrl: string,
  redirectUri: string,
  credentials: { username: string; password: string },
): Promise<URL> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.route(`${redirectUri}**`, (route) => route.fulfill({ contentType: 'text/plain', body: 'signed in' }));
    await page.goto(authorizationUrl);
    await signInOnPage(page, credentials);
    await page.waitForURL(`${redirectUri}?**`);
    return new URL(page.url());
  } finally {
    await context.close();
  }
}
