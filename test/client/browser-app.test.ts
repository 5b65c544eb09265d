import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/redis.js';

/**
 * The documented browser app (examples/browser-app), in Chromium: the page imports
 * tessera-auth/client by URL (no bundler), signs in, calls the API, survives a reload and signs
 * out; the same page served from another origin does it all across origins (CORS with credentials,
 * the CSRF guard trusting that origin).
 */
describe('the browser app example in Chromium', () => {
  const browserFor = useBrowser();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-browser-app-'));
  let api = '';
  let page = '';
  let stop = () => {};

  before(async () => {
    const [apiPort, pagePort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['examples/browser-app/server.js'], {
      env: { ...process.env, PORT: String(apiPort), PAGE_PORT: String(pagePort), KEYS: join(dir, 'keys') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    stop = () => child.kill();
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('page listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the example exited with ${code}`)));
    });
    [api, page] = [`http://127.0.0.1:${apiPort}`, `http://127.0.0.1:${pagePort}`];
  });
  after(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const said = (tab: Page, text: string) => tab.locator('#who', { hasText: text }).waitFor();

  async function signInReloadSignOut(origin: string, t: Parameters<typeof browserFor>[0]) {
    const browser = browserFor(t);
    if (!browser) return;
    const context = await browser.newContext();
    t.after(() => context.close());
    const tab = await context.newPage();
    const failures: string[] = [];
    // A 401 is logged by Chromium as a failed resource (no session yet, a wrong password): expected.
    // Anything else, such as a CORS refusal, is a failure.
    tab.on('console', (message) => {
      if (message.type() === 'error' && !/^Failed to load resource: .* 401/.test(message.text())) failures.push(message.text());
    });
    await tab.goto(`${origin}/`);
    await said(tab, 'Signed out');
    await tab.fill('input[name=username]', 'ana');
    await tab.fill('input[name=password]', 'wrong password');
    await tab.click('button');
    await said(tab, 'The username or password is incorrect.');
    await tab.fill('input[name=password]', 'correct horse battery');
    await tab.click('button');
    await said(tab, 'Signed in as ana');
    await tab.locator('#notes li', { hasText: 'buy milk' }).waitFor();
    await tab.reload();
    await said(tab, 'Signed in as ana'); // restored from the refresh cookie
    await tab.locator('#notes li', { hasText: 'buy milk' }).waitFor();
    await tab.click('#logout');
    await said(tab, 'Signed out');
    await tab.reload();
    await said(tab, 'Signed out'); // the refresh handle died with the session
    assert.deepEqual(failures, [], 'no errors in the page');
  }

  it('on the API’s own origin', (t) => signInReloadSignOut(api, t));
  it('from another origin (CORS with credentials, a trusted origin for the CSRF guard)', (t) => signInReloadSignOut(page, t));
});
