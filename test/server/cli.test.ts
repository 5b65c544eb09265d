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

  it('the default strategy is hybrid: an access token in the body, the refresh handle in a cookie', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    const server = await spawnServer(['--insecure-cookies', '--refresh-grace', '0'], { TESSERA_DATA_DIR: dataDir });
    try {
      const client = new Client(server.url);
      assert.equal((await client.post('/auth/register', { username: 'ana', password: 'correct horse battery' })).status, 201);
      const login = await client.post('/auth/login', { username: 'ana', password: 'correct horse battery' });
      assert.equal(login.body.expires_in, 300);
      assert.ok(client.cookies.has('tessera-refresh'));
      const first = await client.post('/auth/refresh');
      assert.equal(first.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 5));
      // With no grace at all, even an immediate retry of the old handle is theft.
      const replay = await new Client(server.url).post('/auth/refresh', undefined, { cookie: login.headers.getSetCookie()[0]!.split(';')[0]! });
      assert.equal(replay.body.code, 'refresh_token_reused');
      assert.match(server.output(), /"event":"refresh_token_reused"/, 'theft is logged');
    } finally {
      assert.equal(await server.stop(), 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('bad flags exit 2 with a message', () => {
    const bad = spawnSync(process.execPath, [CLI, 'serve', '--store', 'postgres'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--store must be one of memory, sqlite, redis/);
    const unknown = spawnSync(process.execPath, [CLI, 'serve', '--nope'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    const grace = spawnSync(process.execPath, [CLI, 'serve', '--refresh-grace', '1h'], { encoding: 'utf8' });
    assert.equal(grace.status, 2);
    assert.match(grace.stderr, /--refresh-grace must be a number of seconds/);
  });
});
