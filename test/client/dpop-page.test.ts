import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowser } from '../helpers/browser.js';
import { claimsOf, DpopHolder } from '../helpers/dpop-holder.js';
import { Client } from '../helpers/http-client.js';
import { logRequests, type LoggedRequest } from '../helpers/request-log.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';

describe('the self-service page in Chromium with --dpop required (hybrid)', () => {
  const browserFor = useBrowser();
  let server: TestServer;
  let seen: LoggedRequest[] = [];
  before(async () => {
    // 33-second tokens, renewed 30 seconds early: the page renews within seconds.
    server = await startTestServer({ strategy: 'hybrid', store: 'sqlite', dpop: 'required', accessTtl: 33 });
    seen = logRequests(server.server); // what a proxy's log (or malware reading traffic) would have
  });
  after(() => server.stop());

  const signedIn = (page: Page, name: string) => page.getByText(`Signed in as ${name}`).waitFor();
  const answered = (url: string, status: number) => seen.filter((r) => r.url === url && r.status === status);

  it('logs in, renews and logs out with bound tokens; tabs share the key; a token copied out of the page is refused', async (t) => {
    const browser = browserFor(t);
    if (!browser) return;
    const context = await browser.newContext();
    t.after(() => context.close());
    const name = `dpop${process.pid}`;
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await signedIn(page, name);

    // The login was bound to the page's key, after one round for the server's nonce.
    const login = answered('/auth/login', 200).at(-1)!;
    assert.ok(login.headers.dpop, 'the login carried a proof');
    const issued = JSON.parse(login.body!) as { access_token: string; token_type: string };
    assert.equal(issued.token_type, 'DPoP');
    const jkt = (claimsOf(issued.access_token).cnf as { jkt: string }).jkt;
    assert.ok(answered('/auth/login', 401).length >= 1, 'the first proof had no nonce and was asked for one');

    // The key: made by WebCrypto, kept in IndexedDB, its private half beyond the reach of script.
    const key = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('tessera-dpop');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const pair = await new Promise<CryptoKeyPair>((resolve) => {
        const get = db.transaction('keys').objectStore('keys').get('current');
        get.onsuccess = () => resolve(get.result as CryptoKeyPair);
      });
      const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
        () => 'exported',
        (error: Error) => error.name,
      );
      return { extractable: pair.privateKey.extractable, exported, storage: JSON.stringify(localStorage) + document.cookie };
    });
    assert.deepEqual(key, { extractable: false, exported: 'InvalidAccessError', storage: '{}tessera-signed-in=refresh' });

    // Requests present the token with the DPoP scheme and a fresh proof each.
    await page.getByRole('button', { name: 'Refresh' }).click();
    const me = seen.filter((r) => r.url === '/auth/me' && r.status === 200).at(-1)!;
    const authorization = me.headers.authorization ?? '';
    const copiedProof = String(me.headers.dpop);
    assert.match(authorization, /^DPoP /);
    assert.ok(me.headers.dpop);

    // Renewal ahead of expiry, with a proof of the same key: the token stays bound to it.
    const renewals = answered('/auth/refresh', 200).length;
    await page.waitForTimeout(4_000);
    const renewed = answered('/auth/refresh', 200);
    assert.ok(renewed.length > renewals, 'the page renewed its token');
    const next = JSON.parse(renewed.at(-1)!.body!) as { access_token: string; token_type: string };
    assert.equal(next.token_type, 'DPoP');
    assert.deepEqual(claimsOf(next.access_token).cnf, { jkt });
    await signedIn(page, name);

    // A second tab restores the session from the bound refresh cookie: only possible with the same key.
    const tab = await context.newPage();
    await tab.goto(`${server.url}/`);
    await signedIn(tab, name);
    await tab.close();

    // The token, as a log line or an extension would copy it, replayed from outside the page.
    const stolen = authorization.slice('DPoP '.length);
    const asBearer = await new Client(server.url, { authorization: `Bearer ${stolen}` }).get('/auth/me');
    assert.deepEqual([asBearer.status, asBearer.body.code], [401, 'token_invalid']);
    const withCopiedProof = await new Client(server.url, { authorization: `DPoP ${stolen}`, dpop: copiedProof }).get('/auth/me');
    assert.deepEqual([withCopiedProof.status, withCopiedProof.body.code], [401, 'invalid_dpop_proof']);
    const thief = await DpopHolder.create('ES256');
    const withOwnKey = await thief.request(server.url, 'GET', '/auth/me', { token: stolen });
    assert.deepEqual([withOwnKey.status, withOwnKey.body.code], [401, 'invalid_dpop_proof']);

    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
    const logout = seen.filter((r) => r.url === '/auth/logout').at(-1)!;
    assert.deepEqual([logout.status, logout.headers.authorization?.startsWith('DPoP ')], [204, true]);
    await page.reload(); // the refresh cookie is gone with the session: nothing to restore
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
  });
});
