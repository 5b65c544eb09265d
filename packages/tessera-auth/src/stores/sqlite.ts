import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../base/errors.js';
import { normalizeUsername, type RevocationEntry, type SessionCreateCondition, type SessionRecord, type ServerStore } from './store.js';
import { followSqliteFeed } from './sqlite-feed.js';
import { toSession, toUser, type SessionRow, type UserRow } from './sql-rows.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** Database file; created with its folder if absent. `':memory:'` for a throwaway database. */
  path: string;
  /** How often expired rows are deleted, in milliseconds (default 60 000). */
  sweepIntervalMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tessera_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  user_name TEXT,
  roles TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  user_agent TEXT NOT NULL,
  ip TEXT NOT NULL,
  data TEXT NOT NULL,
  version INTEGER NOT NULL,
  gc_at INTEGER NOT NULL,
  refresh_hash TEXT,
  refresh_issued_at INTEGER,
  refresh_jkt TEXT,
  refresh_spent TEXT,
  client_id TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tessera_sessions_user ON tessera_sessions (user_id);
CREATE INDEX IF NOT EXISTS tessera_sessions_gc ON tessera_sessions (gc_at);
CREATE TABLE IF NOT EXISTS tessera_generations (
  user_id TEXT PRIMARY KEY,
  generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tessera_users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  username_key TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  roles TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tessera_revocations (
  entry TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tessera_revocations_expiry ON tessera_revocations (expires_at);
CREATE TABLE IF NOT EXISTS tessera_revocation_acks (
  instance TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  acked_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tessera_counters (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  gc_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** An instance's acknowledgement record outlives its last heartbeat by this long, then goes. */
const ACKNOWLEDGEMENT_KEPT_MS = 3600_000;

/** Columns added after the first release, for databases created before them. */
const ADDED_SESSION_COLUMNS = {
  refresh_hash: 'TEXT',
  refresh_issued_at: 'INTEGER',
  refresh_jkt: 'TEXT',
  refresh_spent: 'TEXT',
  client_id: 'TEXT',
};

/**
 * The embedded durable store: sessions survive a restart, and several processes on one host may
 * share the file (WAL mode, busy timeout), each following the others' revocations through it (see
 * `followSqliteFeed`) and acknowledging them. Each method is one statement or one transaction, so
 * each is atomic.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ path: './data/tessera.db' });
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): ServerStore {
  // Password hashes, addresses and sessions: readable by this user only, the folder included.
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 2000');
  db.exec(SCHEMA);
  const columns = new Set(
    db
      .prepare<[], { name: string }>('PRAGMA table_info(tessera_sessions)')
      .all()
      .map((column) => column.name),
  );
  for (const [name, type] of Object.entries(ADDED_SESSION_COLUMNS)) {
    if (!columns.has(name)) db.exec(`ALTER TABLE tessera_sessions ADD COLUMN ${name} ${type}`);
  }
  // Databases from before handles were drawn at random hold each session's successor key: erased.
  if (columns.has('refresh_key')) db.exec('UPDATE tessera_sessions SET refresh_key = NULL WHERE refresh_key IS NOT NULL');
  // After the schema is written, the journal files exist too.
  if (options.path !== ':memory:') {
    for (const file of [options.path, `${options.path}-wal`, `${options.path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  }

  const q = {
    insertSession: db.prepare(
      `INSERT OR REPLACE INTO tessera_sessions
       (id_hash, user_id, user_name, roles, created_at, last_seen_at, absolute_expires_at, user_agent, ip, data, version, gc_at,
        refresh_hash, refresh_issued_at, refresh_jkt, refresh_spent, client_id)
       VALUES (@idHash, @userId, @userName, @roles, @createdAt, @lastSeenAt, @absoluteExpiresAt, @userAgent, @ip, @data, @version, @gcAt,
        @refreshHash, @refreshIssuedAt, @refreshJkt, @refreshSpent, @clientId)`,
    ),
    rotateRefresh: db.prepare(
      `UPDATE tessera_sessions SET refresh_hash = ?, refresh_issued_at = ?, refresh_spent = ?, last_seen_at = ?, gc_at = ?
       WHERE id_hash = ? AND refresh_hash = ? AND gc_at > ?`,
    ),
    getSession: db.prepare<[string, number], SessionRow>('SELECT * FROM tessera_sessions WHERE id_hash = ? AND gc_at > ?'),
    touch: db.prepare('UPDATE tessera_sessions SET last_seen_at = ?, gc_at = ? WHERE id_hash = ? AND gc_at > ?'),
    updateData: db.prepare('UPDATE tessera_sessions SET data = ?, version = version + 1 WHERE id_hash = ? AND version = ? AND gc_at > ?'),
    sessionExists: db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM tessera_sessions WHERE id_hash = ? AND gc_at > ?'),
    deleteSession: db.prepare('DELETE FROM tessera_sessions WHERE id_hash = ?'),
    deleteLiveSession: db.prepare('DELETE FROM tessera_sessions WHERE id_hash = ? AND gc_at > ?'),
    listByUser: db.prepare<[string, number], SessionRow>(
      'SELECT * FROM tessera_sessions WHERE user_id = ? AND gc_at > ? ORDER BY created_at',
    ),
    sessionIdsOfUser: db.prepare<[string, string | null, number], { id_hash: string }>(
      'SELECT id_hash FROM tessera_sessions WHERE user_id = ? AND id_hash IS NOT ? AND gc_at > ?',
    ),
    deleteByUser: db.prepare('DELETE FROM tessera_sessions WHERE user_id = ? AND id_hash IS NOT ?'),
    generation: db.prepare<[string], { generation: number }>('SELECT generation FROM tessera_generations WHERE user_id = ?'),
    advanceGeneration: db.prepare(
      `INSERT INTO tessera_generations (user_id, generation) VALUES (?, 1)
       ON CONFLICT (user_id) DO UPDATE SET generation = generation + 1`,
    ),
    countSessions: db.prepare<[number], { live: number }>('SELECT COUNT(*) AS live FROM tessera_sessions WHERE gc_at > ?'),
    insertUser: db.prepare(
      `INSERT INTO tessera_users VALUES (@id, @username, @usernameKey, @passwordHash, @roles, @createdAt)
       ON CONFLICT DO NOTHING`,
    ),
    userById: db.prepare<[string], UserRow>('SELECT * FROM tessera_users WHERE id = ?'),
    userByName: db.prepare<[string], UserRow>('SELECT * FROM tessera_users WHERE username_key = ?'),
    updatePassword: db.prepare('UPDATE tessera_users SET password_hash = ? WHERE id = ?'),
    updateRoles: db.prepare('UPDATE tessera_users SET roles = ? WHERE id = ?'),
    addCounter: db.prepare<[string, number, number, number, number, number], { count: number; gc_at: number }>(
      `INSERT INTO tessera_counters (key, count, gc_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN gc_at > ? THEN count + excluded.count ELSE excluded.count END,
         gc_at = CASE WHEN gc_at > ? THEN gc_at ELSE ? END
       RETURNING count, gc_at`,
    ),
    resetCounter: db.prepare('DELETE FROM tessera_counters WHERE key = ?'),
    getCounter: db.prepare<[string, number], { count: number; gc_at: number }>(
      'SELECT count, gc_at FROM tessera_counters WHERE key = ? AND gc_at > ?',
    ),
    sweepSessions: db.prepare('DELETE FROM tessera_sessions WHERE gc_at <= ?'),
    sweepCounters: db.prepare('DELETE FROM tessera_counters WHERE gc_at <= ?'),
    addRevocation: db.prepare('INSERT INTO tessera_revocations (entry, expires_at) VALUES (?, ?)'),
    listRevocations: db.prepare<[number], { entry: string }>('SELECT entry FROM tessera_revocations WHERE expires_at > ?'),
    // The newest row stays: its id must never be handed out again (the feed reads by id).
    sweepRevocations: db.prepare(
      'DELETE FROM tessera_revocations WHERE expires_at <= ? AND rowid < (SELECT max(rowid) FROM tessera_revocations)',
    ),
    acknowledge: db.prepare(
      `INSERT INTO tessera_revocation_acks (instance, position, acked_at) VALUES (?, ?, ?)
       ON CONFLICT (instance) DO UPDATE SET position = excluded.position, acked_at = excluded.acked_at`,
    ),
    dropAcknowledgements: db.prepare('DELETE FROM tessera_revocation_acks WHERE acked_at < ?'),
    behind: db.prepare<[number, number], { instance: string }>(
      'SELECT instance FROM tessera_revocation_acks WHERE acked_at >= ? AND position < ?',
    ),
    leave: db.prepare('DELETE FROM tessera_revocation_acks WHERE instance = ?'),
  };

  const generationOf = (userId: string) => q.generation.get(userId)?.generation ?? 0;

  const createSession = db.transaction((record: SessionRecord, ttlMs: number, condition?: SessionCreateCondition) => {
    if (condition && 'rotates' in condition) {
      if (q.deleteLiveSession.run(condition.rotates, Date.now()).changes === 0) return false;
    } else if (condition) {
      if (generationOf(record.userId) !== condition.generation) return false;
      if (condition.replaces !== undefined) q.deleteSession.run(condition.replaces);
    }
    q.insertSession.run({
      ...record,
      userName: record.userName ?? null,
      roles: JSON.stringify(record.roles),
      data: JSON.stringify(record.data),
      gcAt: Date.now() + ttlMs,
      refreshHash: record.refresh?.hash ?? null,
      refreshIssuedAt: record.refresh?.issuedAt ?? null,
      refreshJkt: record.refresh?.jkt ?? null,
      clientId: record.clientId ?? null,
      refreshSpent: record.refresh?.spent ?? null,
    });
    return true;
  });

  const advanceGeneration = db.transaction((userId: string, exceptIdHash: string | null) => {
    q.advanceGeneration.run(userId);
    const ended = q.sessionIdsOfUser.all(userId, exceptIdHash, Date.now()).map((row) => row.id_hash);
    q.deleteByUser.run(userId, exceptIdHash);
    return ended;
  });

  const updateUser = db.transaction((id: string, changes: { passwordHash?: string; roles?: readonly string[] }) => {
    if (!q.userById.get(id)) return false;
    if (changes.passwordHash !== undefined) q.updatePassword.run(changes.passwordHash, id);
    if (changes.roles !== undefined) q.updateRoles.run(JSON.stringify(changes.roles), id);
    return true;
  });

  // The feeds of this connection, read after each revocation it adds (see followSqliteFeed).
  const ownWrites = new Set<() => void>();

  /** Runs a synchronous SQLite call, reporting any failure as the store being unavailable. */
  const run = async <T>(operation: () => T): Promise<T> => {
    try {
      return operation();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  };

  const sweeper = setInterval(() => {
    void run(() => {
      const now = Date.now();
      q.sweepSessions.run(now);
      q.sweepCounters.run(now);
      q.sweepRevocations.run(now);
    }).catch(() => {}); // A failed sweep is retried at the next interval.
  }, options.sweepIntervalMs ?? 60_000);
  sweeper.unref();

  return {
    sessions: {
      // IMMEDIATE: the write lock is taken before the check, so another process cannot slip in between.
      create: (record, ttlMs, condition) => run(() => createSession.immediate(record, ttlMs, condition)),
      generation: (userId) => run(() => generationOf(userId)),
      get: (idHash) =>
        run(() => {
          const row = q.getSession.get(idHash, Date.now());
          return row ? toSession(row) : null;
        }),
      touch: (idHash, lastSeenAt, ttlMs) =>
        run(() => {
          const now = Date.now();
          return q.touch.run(lastSeenAt, now + ttlMs, idHash, now).changes === 1;
        }),
      rotateRefresh: (idHash, expectedHash, next, ttlMs) =>
        run(() => {
          const now = Date.now();
          const changed = q.rotateRefresh.run(
            next.hash,
            next.issuedAt,
            next.spent,
            next.issuedAt,
            now + ttlMs,
            idHash,
            expectedHash,
            now,
          ).changes;
          if (changed === 1) return 'rotated';
          return q.sessionExists.get(idHash, now) ? 'conflict' : 'missing';
        }),
      updateData: (idHash, expectedVersion, data) =>
        run(() => {
          const now = Date.now();
          if (q.updateData.run(JSON.stringify(data), idHash, expectedVersion, now).changes === 1) return 'updated';
          return q.sessionExists.get(idHash, now) ? 'conflict' : 'missing';
        }),
      delete: (idHash) => run(() => q.deleteLiveSession.run(idHash, Date.now()).changes === 1),
      listByUser: (userId) => run(() => q.listByUser.all(userId, Date.now()).map(toSession)),
      advanceGeneration: (userId, exceptIdHash) => run(() => advanceGeneration.immediate(userId, exceptIdHash ?? null)),
      count: () => run(() => q.countSessions.get(Date.now())?.live ?? 0),
    },
    users: {
      create: (user) =>
        run(
          () =>
            q.insertUser.run({
              ...user,
              usernameKey: normalizeUsername(user.username),
              roles: JSON.stringify(user.roles),
            }).changes === 1,
        ),
      getById: (id) =>
        run(() => {
          const row = q.userById.get(id);
          return row ? toUser(row) : null;
        }),
      getByUsername: (username) =>
        run(() => {
          const row = q.userByName.get(normalizeUsername(username));
          return row ? toUser(row) : null;
        }),
      update: (id, changes) => run(() => updateUser.immediate(id, changes)),
    },
    counters: {
      add: (key, delta, windowMs) =>
        run(() => {
          const now = Date.now();
          const row = q.addCounter.get(key, delta, now + windowMs, now, now, now + windowMs);
          if (!row) throw new Error('counter upsert returned no row');
          return { count: row.count, resetInMs: row.gc_at - now };
        }),
      get: (key) =>
        run(() => {
          const now = Date.now();
          const row = q.getCounter.get(key, now);
          return row ? { count: row.count, resetInMs: row.gc_at - now } : null;
        }),
      reset: (key) => run(() => void q.resetCounter.run(key)),
    },
    revocations: {
      add: (entry) =>
        run(() => {
          const position = String(q.addRevocation.run(JSON.stringify(entry), entry.expiresAt).lastInsertRowid);
          for (const catchUp of ownWrites) catchUp(); // this connection's commits: read now, not at the heartbeat
          return position;
        }),
      list: (now) => run(() => q.listRevocations.all(now).map((row) => JSON.parse(row.entry) as RevocationEntry)),
      // Several processes may share the file: each follows the others' revocations through it.
      follow: (onEntry) => followSqliteFeed(db, onEntry, ownWrites),
      // One host, one clock: the processes sharing a file stamp acknowledgements with it.
      acknowledgements: {
        acknowledge: (instance, position) => run(() => void q.acknowledge.run(instance, Number(position), Date.now())),
        behind: (position, withinMs) =>
          run(() => {
            const now = Date.now();
            q.dropAcknowledgements.run(now - ACKNOWLEDGEMENT_KEPT_MS);
            return q.behind.all(now - withinMs, Number(position)).map((row) => row.instance);
          }),
        leave: (instance) => run(() => void q.leave.run(instance)),
      },
    },
    ping: () => run(() => void db.prepare('SELECT 1').get()),
    async close() {
      clearInterval(sweeper);
      if (db.open) db.close();
    },
  };
}

export type * from './store.js';
