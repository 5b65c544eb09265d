import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { digest } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { useBrowser } from '../helpers/browser.js';
import { Client } from '../helpers/http-client.js';
import { authorizeInBrowser } from '../helpers/oauth-browser.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PYTHON = '/usr/bin/python3';
const PASSWORD = 'correct horse battery';
const SECRET = 'p'.repeat(40);
const CALLBACK = 'https://py.example/callback';

/** Under CI a missing Authlib is a failure, never a skip. */
function hasAuthlib(t: TestContext): boolean {
  if (spawnSync(PYTHON, ['-c', 'import authlib, requests']).status === 0) return true;
  if (process.env.CI) throw new Error('Authlib (apt-get install python3-authlib) is required under CI.');
  t.skip('python3-authlib is not installed');
  return false;
}

/** Runs test/server/authlib_client.py with one request; its JSON answer. Asynchronously: the server answers from this process. */
async function authlib(request: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { spawn } = await import('node:child_process');
  const child = spawn(PYTHON, ['test/server/authlib_client.py'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(JSON.stringify(request));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Python's Authlib: its metadata validators accept the documents; its code flow with PKCE, ID token checks, UserInfo and refresh work. */
describe('Authlib (Debian) against tessera serve', () => {
  const browserOf = useBrowser();
  let server: TestServer;
  const username = `pia${process.pid}`;
  before(async () => {
    // An https issuer, as behind a TLS proxy: Authlib's validators require one (RFC 8414 §2).
    server = await startTestServer({
      strategy: 'hybrid',
      issuer: 'https://id.test',
      clients: [{ id: 'pyapp', secretHash: digest(SECRET), redirectUris: [CALLBACK], grantTypes: ['authorization_code', 'refresh_token'] }],
    });
    await new Client(server.url).post('/auth/register', { username, password: PASSWORD });
  });
  after(() => server.stop());

  it("Authlib's RFC 8414 and OpenID Connect Discovery validators accept the metadata", async (t) => {
    if (!hasAuthlib(t)) return;
    assert.deepEqual(await authlib({ op: 'validate', base: server.url }), { ok: true });
  });

  it('code + PKCE with Chromium signing in, the ID token (nonce, at_hash) verified with the JWKS, UserInfo, refresh', async (t) => {
    if (!hasAuthlib(t)) return;
    const chromium = browserOf(t);
    if (!chromium) return;
    const client = { base: server.url, client_id: 'pyapp', client_secret: SECRET, redirect_uri: CALLBACK };
    const started = await authlib({ op: 'start', ...client });
    const url = new URL(started.url as string);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    // Authlib names the https issuer; the browser reaches the server on loopback.
    const callback = await authorizeInBrowser(chromium, `${server.url}${url.pathname}${url.search}`, CALLBACK, {
      username,
      password: PASSWORD,
    });
    const finished = await authlib({ op: 'finish', ...client, ...started, callback: callback.href });
    assert.equal(finished.renewed, true);
    assert.equal((finished.userinfo as { sub: string }).sub, finished.sub);
    assert.equal(typeof finished.sid, 'string');
  });
});
