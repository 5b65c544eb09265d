import { existsSync } from 'node:fs';
import { after, before, type TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * One headless Chromium for the enclosing suite, closed after it. Under CI a missing Chromium is a
 * failure, never a skip; elsewhere the test is skipped with the reason.
 */
export function useBrowser(): (t: TestContext) => Browser | undefined {
  let browser: Browser | undefined;
  before(async () => {
    if (!existsSync(CHROMIUM)) return;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // No background traffic: this machine reaches nothing but loopback.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(() => browser?.close());
  return (t) => {
    if (browser) return browser;
    if (process.env.CI) throw new Error(`${CHROMIUM} is not installed, and CI requires the browser tests to run.`);
    t.skip(`${CHROMIUM} is not installed`);
    return undefined;
  };
}
