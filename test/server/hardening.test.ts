import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSqliteStore } from '../../packages/tessera-auth/src/stores/sqlite.js';
import { Client } from '../helpers/http-client.js';
import { usePostgres } from '../helpers/postgres.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';

describe('identity server hardening', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ strategy: 'stateful', store: 'sqlite' });
  });
  after(() => server.stop());

  it('attack: a malformed %-escape in a path answers 400 invalid_request, not a 500', async () => {
    const answer = await new Client(server.url).delete('/auth/sessions/%ZZ');
    assert.equal(answer.status, 400);
    assert.equal(answer.body.code, 'invalid_request');
  });

  it('every answer says nosniff and no-referrer; account answers are never cached', async () => {
    const client = new Client(server.url);
    assert.equal((await client.post('/auth/register', { username: `hard${process.pid}`, password: PASSWORD })).status, 201);
    assert.equal((await client.post('/auth/login', { username: `hard${process.pid}`, password: PASSWORD })).status, 200);
    for (const path of ['/', '/auth/me', '/auth/sessions', '/healthz']) {
      const answer = await client.get(path);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(answer.headers.get('referrer-policy'), 'no-referrer', path);
      if (path.startsWith('/auth/')) assert.equal(answer.headers.get('cache-control'), 'no-store', path);
    }
  });

  it('attack: paths match exactly: an upper-case /AUTH/sessions or /OAUTH/introspect is no route (was an uncached device list, and another error format)', async () => {
    const client = new Client(server.url);
    const username = `case${process.pid}`;
    assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201);
    assert.equal((await client.post('/auth/login', { username, password: PASSWORD })).status, 200);
    assert.equal((await client.get('/auth/sessions')).status, 200);
    for (const path of ['/AUTH/sessions', '/Auth/Sessions', '/auth/SESSIONS']) {
      const answer = await client.get(path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body.sessions, undefined, path);
    }
    for (const path of ['/OAUTH/introspect', '/oauth/INTROSPECT']) {
      assert.equal(
        (await client.request('POST', path, { headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status,
        404,
        path,
      );
    }
  });

  it('the database and its journal files are readable by this user only, in a folder only it can enter', () => {
    for (const file of ['tessera.db', 'tessera.db-wal', 'tessera.db-shm']) {
      assert.equal(statSync(join(server.dataDir, file)).mode & 0o777, 0o600, file);
    }
  });

  it('a SQLite store creates its folder for this user only', async () => {
    const path = join(server.dataDir, 'nested', 'store.db');
    const store = createSqliteStore({ path });
    await store.close();
    assert.equal(statSync(join(server.dataDir, 'nested')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  for (const strategy of ['stateful', 'stateless', 'hybrid'] as const) {
    it(`attack: one account cannot pile up sessions; a login past the cap ends the oldest (${strategy})`, async () => {
      const capped = await startTestServer({ strategy, store: 'sqlite', session: { maxPerUser: 3 } });
      try {
        const username = `cap${strategy}${process.pid}`;
        assert.equal((await new Client(capped.url).post('/auth/register', { username, password: PASSWORD })).status, 201);
        const devices: Client[] = [];
        for (let i = 0; i < 5; i++) {
          const client = new Client(capped.url);
          const login = await client.post('/auth/login', { username, password: PASSWORD, transport: 'body' });
          assert.equal(login.status, 200);
          devices.push(
            strategy === 'stateful' ? client : new Client(capped.url, { authorization: `Bearer ${login.body.access_token as string}` }),
          );
        }
        const statuses = await Promise.all(devices.map(async (device) => (await device.get('/auth/me')).status));
        assert.deepEqual(statuses, [401, 401, 200, 200, 200], 'the two oldest ended, tokens included');
        assert.equal((await devices[4]!.get('/auth/sessions')).body.sessions.length, 3);
      } finally {
        await capped.stop();
      }
    });
  }
});

describe('control characters never reach a store', () => {
  const postgresFor = usePostgres();

  it('attack: a NUL or another control character in a username or an id is 400 invalid_request, on PostgreSQL too (it was a 503)', async (t) => {
    const postgres = postgresFor(t);
    if (!postgres) return;
    const server = await startTestServer({ strategy: 'hybrid', store: 'postgres', postgresUrl: postgres.url });
    t.after(() => server.stop());
    const admin = new Client(server.url);
    assert.equal((await admin.post('/auth/register', { username: 'nul-admin', password: PASSWORD })).status, 201);
    const login = await admin.post('/auth/login', { username: 'nul-admin', password: PASSWORD, transport: 'body' });
    const signedIn = new Client(server.url, { authorization: `Bearer ${login.body.access_token as string}` });
    const answers = {
      'a NUL in a login name': await admin.post('/auth/login', { username: 'nul-admin\u0000', password: PASSWORD }),
      'a newline in a login name': await admin.post('/auth/login', { username: 'nul-admin\nforged log line', password: PASSWORD }),
      'a NUL in a device id': await signedIn.delete('/auth/sessions/abc%00def'),
      'a NUL in a user id': await signedIn.put('/admin/users/x%00y/roles', { roles: ['user'] }),
    };
    for (const [what, answer] of Object.entries(answers)) {
      assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'invalid_request', what);
    }
    assert.equal((await admin.get('/healthz')).status, 200);
  });
});
