import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { CLI, spawnServer } from '../helpers/server-process.js';

describe('tessera CLI', () => {
  it('tessera serve reads flags and TESSERA_ env, logs "listening on", and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    const server = await spawnServer(['--strategy', 'stateful', '--bootstrap-admin', 'admin:admin password'], {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_INSECURE_COOKIES: 'true',
    });
    try {
      assert.ok(server.output().includes(`listening on ${server.url}`), server.output());
      const client = new Client(server.url);
      const login = await client.post('/auth/login', { username: 'admin', password: 'admin password' });
      assert.deepEqual(login.body.user.roles, ['admin', 'user']);
      assert.match(login.headers.getSetCookie()[0] ?? '', /^tessera=/, 'TESSERA_INSECURE_COOKIES took effect');
    } finally {
      assert.equal(await server.stop(), 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('bad flags exit 2 with a message, and an unbuilt strategy says so', () => {
    const bad = spawnSync(process.execPath, [CLI, 'serve', '--store', 'postgres'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--store must be one of memory, sqlite, redis/);
    const unknown = spawnSync(process.execPath, [CLI, 'serve', '--nope'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    const hybrid = spawnSync(process.execPath, [CLI, 'serve', '--store', 'memory'], { encoding: 'utf8' });
    assert.equal(hybrid.status, 1);
    assert.match(hybrid.stderr, /hybrid strategy is not available/);
  });
});
