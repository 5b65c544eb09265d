import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { createSessionManager } from '../../src/sessions/session-manager.js';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { describeStoreConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describeStoreConformance('sqlite', async () => createSqliteStore({ path: join(dir, 'conformance.db') }));

const policy = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 86_400_000, touchIntervalMs: 60_000, maxDataBytes: 1024 };

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
