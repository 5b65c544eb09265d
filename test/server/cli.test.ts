import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { freePort } from '../helpers/redis.js';

/** The built command, as users run it (npm test builds dist/ first). */
const CLI = ['dist/cli/main.js'];

describe('tessera CLI', () => {
  it('tessera serve reads flags and TESSERA_ env, logs "listening on", and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    const port = await freePort();
    const child = spawn(process.execPath, [...CLI, 'serve', '--strategy', 'stateful', '--port', String(port), '--bootstrap-admin', 'admin:admin password'], {
      env: { ...process.env, TESSERA_DATA_DIR: dataDir, TESSERA_INSECURE_COOKIES: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('listening on')) resolve(output);
        });
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', () => reject(new Error(`exited early: ${output}`)));
      });
      assert.match(line, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
      const client = new Client(`http://127.0.0.1:${port}`);
      const login = await client.post('/auth/login', { username: 'admin', password: 'admin password' });
      assert.deepEqual(login.body.user.roles, ['admin', 'user']);
      assert.match(login.headers.getSetCookie()[0] ?? '', /^tessera=/, 'TESSERA_INSECURE_COOKIES took effect');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('bad flags exit 2 with a message, and an unbuilt strategy says so', () => {
    const bad = spawnSync(process.execPath, [...CLI, 'serve', '--store', 'postgres'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--store must be one of memory, sqlite, redis/);
    const unknown = spawnSync(process.execPath, [...CLI, 'serve', '--nope'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    const hybrid = spawnSync(process.execPath, [...CLI, 'serve', '--store', 'memory'], { encoding: 'utf8' });
    assert.equal(hybrid.status, 1);
    assert.match(hybrid.stderr, /hybrid strategy is not available/);
  });
});
