import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Client } from './helpers/http-client.js';
import { freePort } from './helpers/redis.js';

it('the README\'s Express example runs as documented against the built package', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-example-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['examples/stateful-express.js'], {
    env: { ...process.env, PORT: String(port), DB: join(dir, 'shop.db') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
    });
    const shopper = new Client(`http://127.0.0.1:${port}`);
    assert.equal((await shopper.get('/cart')).status, 401);
    await shopper.post('/login', { username: 'ana' });
    await Promise.all(['book', 'pen', 'mug'].map((item) => shopper.post('/cart', { item })));
    assert.deepEqual(((await shopper.get('/cart')).body.cart as string[]).sort(), ['book', 'mug', 'pen']);
    assert.equal((await shopper.get('/admin')).status, 403);
    assert.equal((await shopper.post('/logout')).status, 204);
    assert.equal((await shopper.get('/cart')).status, 401);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
