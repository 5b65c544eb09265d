import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Client } from './helpers/http-client.js';
import { freePort } from './helpers/redis.js';

/** Starts an example with its own data directory; `run` gets its URL. */
async function withExample(script: string, run: (url: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-example-'));
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), DB: join(dir, 'example.db'), KEYS: join(dir, 'keys') },
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

it('the README\'s stateless example: a token that works, then dies at logout', async () => {
  await withExample('examples/stateless-express.js', async (url) => {
    const login = await new Client(url).post('/login', { username: 'ana' });
    const reader = new Client(url, { authorization: `Bearer ${login.body.access_token}` });
    assert.equal((await reader.get('/articles')).body.for, 'ana');
    assert.equal((await reader.post('/logout')).status, 204);
    assert.equal((await reader.get('/articles')).status, 401);
  });
});

it('the README\'s stateful example: a cart that keeps concurrent additions', async () => {
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

it("the README's hybrid example: a mobile login, a rotation, then logout kills token and handle", async () => {
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
