import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, it } from 'node:test';
import { createSessionManager } from '../../packages/tessera-auth/src/sessions/session-manager.js';
import Database from 'better-sqlite3';
import { createSqliteStore } from '../../packages/tessera-auth/src/stores/sqlite.js';
import { describeServerStoreConformance, describeStoreConformance } from '../../packages/tessera-auth/src/testing/store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const open = async () => createSqliteStore({ path: join(dir, 'conformance.db') });
describeStoreConformance('sqlite', open);
describeServerStoreConformance('sqlite', open);

const policy = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 86_400_000, touchIntervalMs: 60_000, maxDataBytes: 1024, retainMs: 0 };

it('sessions survive closing and reopening the database', async () => {
  const path = join(dir, 'restart.db');
  const first = createSqliteStore({ path });
  const { id } = await createSessionManager(first, policy, { now: Date.now }).create({ id: 'u1', roles: [] }, { userAgent: '', ip: '' });
  await first.close();

  const second = createSqliteStore({ path });
  const resolved = await createSessionManager(second, policy, { now: Date.now }).resolve(id);
  assert.equal(resolved?.userId, 'u1');
  await second.close();
});

it('a dump of the database holds no usable session id', async () => {
  const path = join(dir, 'dump.db');
  const store = createSqliteStore({ path });
  const { id } = await createSessionManager(store, policy, { now: Date.now }).create({ id: 'u2', roles: [] }, { userAgent: '', ip: '' });
  await store.close();
  const bytes = Buffer.concat([readFileSync(path), readFileSync(`${path}-wal`, { flag: 'a+' })]);
  assert.equal(bytes.includes(id), false);
});

it('a database from before refresh handles gains their columns and keeps its sessions', async () => {
  const path = join(dir, 'old-schema.db');
  const old = new Database(path);
  old.exec(`CREATE TABLE tessera_sessions (id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, user_name TEXT, roles TEXT NOT NULL,
    created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, absolute_expires_at INTEGER NOT NULL, user_agent TEXT NOT NULL,
    ip TEXT NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL, gc_at INTEGER NOT NULL) WITHOUT ROWID`);
  old
    .prepare('INSERT INTO tessera_sessions VALUES (?, ?, NULL, ?, 1, 1, ?, ?, ?, ?, 0, ?)')
    .run('kept', 'u1', '["user"]', 9e15, 'ua', '::1', '{}', 9e15);
  old.close();

  const store = createSqliteStore({ path });
  try {
    assert.equal((await store.sessions.get('kept'))?.userId, 'u1');
    const refresh = { hash: 'h0', issuedAt: 5, spent: 's' };
    await store.sessions.create({ ...(await store.sessions.get('kept'))!, idHash: 'new', refresh }, 60_000);
    assert.deepEqual((await store.sessions.get('new'))?.refresh, refresh);
  } finally {
    await store.close();
  }
});

it('a database from before random refresh handles loses the successor keys it held', async () => {
  const path = join(dir, 'successor-keys.db');
  const old = new Database(path);
  old.exec(`CREATE TABLE tessera_sessions (id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, user_name TEXT, roles TEXT NOT NULL,
    created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, absolute_expires_at INTEGER NOT NULL, user_agent TEXT NOT NULL,
    ip TEXT NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL, gc_at INTEGER NOT NULL,
    refresh_hash TEXT, refresh_issued_at INTEGER, refresh_key TEXT, refresh_jkt TEXT) WITHOUT ROWID`);
  old
    .prepare('INSERT INTO tessera_sessions VALUES (?, ?, NULL, ?, 1, 1, ?, ?, ?, ?, 0, ?, ?, 1, ?, NULL)')
    .run('kept', 'u1', '["user"]', 9e15, 'ua', '::1', '{}', 9e15, 'current-hash', 'the-successor-key');
  old.close();

  const store = createSqliteStore({ path });
  try {
    assert.deepEqual((await store.sessions.get('kept'))?.refresh, { hash: 'current-hash', issuedAt: 1, spent: '' });
  } finally {
    await store.close();
  }
  const reopened = new Database(path, { readonly: true });
  assert.deepEqual(reopened.prepare('SELECT refresh_key FROM tessera_sessions').all(), [{ refresh_key: null }]);
  reopened.close();
});

// Several processes on one file (tessera serve instances on one data directory). A transaction that
// reads and then writes must take the write lock first: begun as a read, it fails at once with
// "database is locked" whenever another process commits in between, whatever the busy timeout.
it('several processes changing one user at once: no write refused', async () => {
  const path = join(dir, 'shared.db');
  const store = createSqliteStore({ path });
  await store.users.create({ id: 'u1', username: 'ana', passwordHash: 'x', roles: ['user'], createdAt: Date.now() });
  await store.close();
  const writer = new URL('./sqlite-writer.js', import.meta.url).pathname;
  const runs = await Promise.all([1, 2, 3].map(() => promisify(execFile)(process.execPath, [writer, path, 'u1', '1000'])));
  assert.deepEqual(
    runs.map((run) => Number(run.stdout)),
    [0, 0, 0],
    'refused writes per process',
  );
});

// A connection's own commits leave its data_version as it is: without a read after each add, this
// process would apply its own revocation (and pass it on to stream followers) only at the heartbeat.
it("an instance's own revocation reaches its feed before the write answers", async () => {
  const store = createSqliteStore({ path: join(dir, 'own-writes.db') });
  const heard: string[] = [];
  const follower = store.revocations.follow!((entry) => heard.push(entry.value));
  try {
    await follower.ready;
    await store.revocations.add({ kind: 'sid', value: 's1', expiresAt: Date.now() + 60_000 });
    assert.deepEqual(heard, ['s1']);
  } finally {
    follower.stop();
    await store.close();
  }
});
