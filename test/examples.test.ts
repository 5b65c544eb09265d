import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { DpopHolder } from './helpers/dpop-holder.js';
import { Client } from './helpers/http-client.js';
import { freePort } from './helpers/redis.js';
import { spawnServer } from './helpers/server-process.js';

/** Starts an example with its own data directory; `run` gets its URL. */
async function withExample(script: string, run: (url: string) => Promise<void>, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-example-'));
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), DB: join(dir, 'example.db'), KEYS: join(dir, 'keys'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
    await run(`http://127.0.0.1:${port}`);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

it('the documented stateless example: a token that works, then dies at logout', async () => {
  await withExample('examples/stateless-express.js', async (url) => {
    const login = await new Client(url).post('/login', { username: 'ana' });
    const reader = new Client(url, { authorization: `Bearer ${login.body.access_token}` });
    assert.equal((await reader.get('/articles')).body.for, 'ana');
    assert.equal((await reader.post('/logout')).status, 204);
    assert.equal((await reader.get('/articles')).status, 401);
  });
});

it('the documented stateful example: a cart that keeps concurrent additions', async () => {
  await withExample('examples/stateful-express.js', async (url) => {
    const shopper = new Client(url);
    assert.equal((await shopper.get('/cart')).status, 401);
    await shopper.post('/login', { username: 'ana' });
    await Promise.all(['book', 'pen', 'mug'].map((item) => shopper.post('/cart', { item })));
    assert.deepEqual(((await shopper.get('/cart')).body.cart as string[]).sort(), ['book', 'mug', 'pen']);
    assert.equal((await shopper.get('/admin')).status, 403);
    assert.equal((await shopper.post('/logout')).status, 204);
    assert.equal((await shopper.get('/cart')).status, 401);
  });
});

it('the documented hybrid example: a mobile login, a rotation, then logout kills token and handle', async () => {
  await withExample('examples/hybrid-express.js', async (url) => {
    const login = await new Client(url).post('/login', { username: 'ana', transport: 'body' });
    const refreshed = await new Client(url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    assert.equal(refreshed.status, 200);
    assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token);
    const reader = new Client(url, { authorization: `Bearer ${refreshed.body.access_token}` });
    assert.equal((await reader.get('/articles')).body.for, 'ana');
    assert.equal((await reader.post('/logout')).status, 204);
    assert.equal((await reader.get('/articles')).status, 401);
    assert.equal((await new Client(url).post('/auth/refresh', { refresh_token: refreshed.body.refresh_token })).status, 401);
  });
});

// The Python resource service, and the Node one against Redis restarts, are in test/server/revocation-stream.test.ts.
it('the documented resource service: a fresh token is accepted, and refused right after logout at the identity server', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-identity-'));
  const client = { id: 'orders', secret: 'a-client-secret-of-at-least-32-characters' };
  const identity = await spawnServer([
    '--issuer',
    'https://id.test',
    '--data-dir',
    dataDir,
    '--client',
    `${client.id}:${client.secret}`,
    '--dpop',
    'allowed',
  ]);
  try {
    const env = { IDENTITY_URL: identity.url, ISSUER: 'https://id.test', CLIENT_ID: client.id, CLIENT_SECRET: client.secret };
    await withExample(
      'examples/resource-service.js',
      async (orders) => {
        const account = new Client(identity.url);
        await account.post('/auth/register', { username: 'ana', password: 'correct horse battery' });
        const login = await account.post('/auth/login', { username: 'ana', password: 'correct horse battery', transport: 'body' });
        const token = `Bearer ${login.body.access_token}`;
        const shopper = new Client(orders, { authorization: token });
        const fresh = await shopper.get('/orders');
        assert.equal(fresh.status, 200);
        assert.equal(fresh.body.for, 'ana');
        assert.equal((await new Client(orders).get('/orders')).status, 401, 'no token, no orders');

        assert.equal((await new Client(identity.url, { authorization: token }).post('/auth/logout')).status, 204);
        const started = Date.now();
        let after = await shopper.get('/orders');
        while (after.status === 200 && Date.now() - started < 2_000) after = await shopper.get('/orders');
        assert.equal(after.status, 401);
        assert.equal(after.body.code, 'token_revoked');

        // A token bound to a client's key: accepted with a proof naming this service, refused as a bearer token.
        const holder = await DpopHolder.create('ES256');
        const bound = await holder.request(identity.url, 'POST', '/auth/login', {
          json: { username: 'ana', password: 'correct horse battery', transport: 'body' },
          origin: 'https://id.test',
        });
        assert.equal(bound.body.token_type, 'DPoP');
        const withProof = await holder.request(orders, 'GET', '/orders', { token: bound.body.access_token });
        assert.deepEqual([withProof.status, withProof.body.for], [200, 'ana']);
        const asBearer = await new Client(orders, { authorization: `Bearer ${bound.body.access_token}` }).get('/orders');
        assert.equal(asBearer.status, 401);
      },
      env,
    );
  } finally {
    await identity.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it('the documented Fastify example: a session cookie, roles, logout', async () => {
  await withExample('examples/fastify.js', async (url) => {
    const shopper = new Client(url);
    assert.equal((await shopper.get('/me')).status, 401);
    await shopper.post('/login', { username: 'ana' });
    assert.equal((await shopper.get('/me')).body.id, 'ana');
    assert.equal((await shopper.get('/admin')).status, 403);
    assert.equal((await shopper.post('/logout')).status, 204);
    assert.equal((await shopper.get('/me')).status, 401);
  });
});

it('the documented Hono example: hybrid login, refresh by body, logout kills the token', async () => {
  await withExample('examples/hono.js', async (url) => {
    const login = await new Client(url).post('/login', { username: 'ana', transport: 'body' });
    const refreshed = await new Client(url).post('/auth/refresh', { refresh_token: login.body.refresh_token });
    assert.equal(refreshed.status, 200);
    const reader = new Client(url, { authorization: `Bearer ${refreshed.body.access_token}` });
    assert.equal((await reader.get('/articles')).body.for, 'ana');
    assert.equal((await reader.post('/logout')).status, 204);
    assert.equal((await reader.get('/articles')).status, 401);
  });
});

it('the documented stateless Hono example: a token that works, then dies at logout', async () => {
  await withExample('examples/hono-stateless.js', async (url) => {
    const login = await new Client(url).post('/login', { username: 'ana' });
    assert.equal(login.body.token_type, 'Bearer');
    const reader = new Client(url, { authorization: `Bearer ${login.body.access_token}` });
    assert.equal((await reader.get('/articles')).body.for, 'ana');
    assert.equal((await reader.post('/logout')).status, 204);
    assert.equal((await reader.get('/articles')).status, 401);
  });
});

it('the documented fetch-handler example: a token that works, then dies at logout', async () => {
  await withExample('examples/fetch-handler.js', async (url) => {
    const login = await new Client(url).post('/login', { username: 'ana' });
    const reader = new Client(url, { authorization: `Bearer ${login.body.access_token}` });
    assert.equal((await reader.get('/articles')).body.for, 'ana');
    assert.equal((await reader.post('/logout')).status, 204);
    const refused = await reader.get('/articles');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  });
});

it('the documented credential-change example: a password change ends the other devices and the logins racing it', async () => {
  await withExample('examples/credential-changes.js', async (url) => {
    const OLD = 'correct horse';
    const laptop = new Client(url);
    const phone = new Client(url);
    for (const device of [laptop, phone]) assert.equal((await device.post('/login', { username: 'ana', password: OLD })).status, 200);
    // Someone who knows the old password keeps logging in from four clients while ana changes it.
    const attackers: Client[] = [];
    let changing = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (changing) {
        const attacker = new Client(url);
        const login = await attacker.post('/login', { username: 'ana', password: OLD });
        assert.ok(login.status === 200 || login.status === 401, String(login.status));
        attackers.push(attacker);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const changed = await laptop.post('/password', { current_password: OLD, new_password: 'a new passphrase' });
    changing = false;
    assert.equal(changed.status, 204);
    await Promise.all(loops);
    for (const device of [phone, ...attackers]) assert.equal((await device.get('/me')).status, 401);
    assert.equal((await laptop.get('/me')).status, 200, 'the device that changed it stays signed in');
    assert.equal((await new Client(url).post('/login', { username: 'ana', password: OLD })).status, 401);
    assert.equal((await new Client(url).post('/login', { username: 'ana', password: 'a new passphrase' })).status, 200);
  });
});
