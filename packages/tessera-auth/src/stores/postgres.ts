import postgres, { type Options, type PostgresType, type Sql } from 'postgres';
import { StoreUnavailableError } from '../base/errors.js';
import { followPostgresFeed } from './postgres-feed.js';
import { LOCKS, migrate } from './postgres-schema.js';
import { normalizeUsername, type RevocationEntry, type SessionRecord, type ServerStore } from './store.js';
import { toSession, toUser, type SessionRow, type UserRow } from './sql-rows.js';

/** Where the PostgreSQL store connects, and how it behaves when the database is slow or away. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; libpq's `PG*` environment variables fill in what it leaves out. */
  url?: string;
  /** Connections in the pool (default 10). The feed follower opens one more, for `LISTEN`. */
  max?: number;
  /**
   * Longest wait for one command, queueing for a connection included, in milliseconds (default
   * 1000). A slower answer is a 503, never a hang.
   */
  commandTimeoutMs?: number;
  /** A PostgreSQL schema to keep Tessera's tables in (default: the connection's `search_path`, usually `public`). */
  schema?: string;
  /** How often one instance deletes expired rows, in milliseconds (default 60 000). */
  sweepIntervalMs?: number;
}

/** An instance's acknowledgement record outlives its last heartbeat by this long, then goes. */
const ACKNOWLEDGEMENT_KEPT_MS = 3600_000;

/**
 * Seconds before the next connection attempt after `retries` failed ones. Postgres.js's default
 * grows to 20 s, so an instance that kept trying through a database restart could answer 503 for
 * up to 20 s after the database was back; here the wait stops growing at 1 s. Jittered, so
 * instances do not all reconnect at the same instant.
 */
const reconnectDelay = (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2);

/** int8 columns (epoch ms) as numbers: every value Tessera stores is far below 2^53. */
const TYPES = { bigint: { to: 20, from: [20], parse: (value: string) => Number(value), serialize: (value: number) => String(value) } };
type Db = Sql<{ bigint: number }>;

const SESSION_COLUMNS = `id_hash, user_id, user_name, roles, created_at, last_seen_at, absolute_expires_at, user_agent, ip, data, version,
  refresh_hash, refresh_issued_at, refresh_jkt, refresh_spent, client_id`;
const GET_SESSION = `SELECT ${SESSION_COLUMNS} FROM tessera_sessions WHERE id_hash = $1 AND gc_at > $2`;
const SESSIONS_OF_USER = `SELECT ${SESSION_COLUMNS} FROM tessera_sessions WHERE user_id = $1 AND gc_at > $2 ORDER BY created_at`;

/**
 * The shared store on the PostgreSQL most teams already run: sessions, accounts and the revocation
 * list in tables, and the revocation feed on the same database (`LISTEN/NOTIFY` to wake every
 * instance, the revocation table as the log they read from). The schema is created and upgraded at
 * start under an advisory lock; one instance at a time deletes expired rows. Uses Postgres.js
 * (`postgres` on npm): in `npm run bench:postgres-drivers` it spent 0.65x the CPU of `pg` per
 * session read.
 *
 * @example
 * ```ts
 * const store = createPostgresStore({ url: process.env.DATABASE_URL });
 * await store.ping(); // the schema is ready once this resolves
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions = {}): ServerStore {
  const timeoutSeconds = (options.commandTimeoutMs ?? 1000) / 1000;
  // The same deadline for Postgres.js, which then also cancels the statement at the server.
  const connection: Options<Record<string, PostgresType>> = {
    max: options.max ?? 10,
    query_timeout: timeoutSeconds,
    queue_timeout: timeoutSeconds,
    connect_timeout: Math.max(timeoutSeconds, 2),
    // A statement that is cancelled gets a second before its connection is closed instead.
    cancel_timeout: 1,
    backoff: reconnectDelay, // the feed's connection too: it is opened with these options
    onnotice: false,
    types: TYPES,
    connection: { application_name: 'tessera', ...(options.schema !== undefined && { search_path: options.schema }) },
  };
  const sql = (options.url === undefined ? postgres(connection) : postgres(options.url, connection)) as unknown as Db;

  // Every command waits for the schema; a failed migration is retried by the next command.
  let schema: Promise<void> | undefined;
  const ready = () =>
    (schema ??= migrate(sql as unknown as Sql<Record<string, never>>).catch((error: unknown) => {
      schema = undefined;
      throw error;
    }));

  const commandTimeoutMs = options.commandTimeoutMs ?? 1000;
  /**
   * Runs a command once the schema is in place, reporting any failure as the store being
   * unavailable. The deadline is kept here: against a frozen server (SIGSTOP, a dead host that
   * still holds the TCP connection) Postgres.js's own query_timeout waits on its cancel request,
   * which a frozen server never answers.
   */
  const run = async <T>(operation: (db: Db) => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${commandTimeoutMs} ms`)), commandTimeoutMs);
    });
    try {
      await Promise.race([ready(), deadline]);
      const command = operation(sql);
      command.catch(() => {}); // it may still fail after the deadline has answered for it
      return await Promise.race([command, deadline]);
    } catch (error) {
      throw new StoreUnavailableError(error);
    } finally {
      clearTimeout(timer);
    }
  };

  const sweep = () =>
    run((db) =>
      db.begin(async (tx) => {
        // One instance sweeps; the others find the lock taken and skip this round.
        const [lock] = await tx<{ taken: boolean }[]>`SELECT pg_try_advisory_xact_lock(${LOCKS.namespace}, ${LOCKS.sweep}) AS taken`;
        if (!lock?.taken) return;
        const now = Date.now();
        await tx`DELETE FROM tessera_sessions WHERE gc_at <= ${now}`;
        await tx`DELETE FROM tessera_counters WHERE gc_at <= ${now}`;
        await tx`DELETE FROM tessera_revocations WHERE expires_at <= ${now}`;
      }),
    );
  const sweeper = setInterval(() => void sweep().catch(() => {}), options.sweepIntervalMs ?? 60_000);
  sweeper.unref();

  const sessionValues = (record: SessionRecord, gcAt: number) => [
    record.idHash,
    record.userId,
    record.userName ?? null,
    JSON.stringify(record.roles),
    record.createdAt,
    record.lastSeenAt,
    record.absoluteExpiresAt,
    record.userAgent,
    record.ip,
    JSON.stringify(record.data),
    record.version,
    gcAt,
    record.refresh?.hash ?? null,
    record.refresh?.issuedAt ?? null,
    record.refresh?.jkt ?? null,
    record.refresh?.spent ?? null,
    record.clientId ?? null,
  ];
  const INSERT_SESSION = `INSERT INTO tessera_sessions (${SESSION_COLUMNS}, gc_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $14, $15, $16, $17, $12)
    ON CONFLICT (id_hash) DO UPDATE SET user_id = excluded.user_id, user_name = excluded.user_name, roles = excluded.roles,
      created_at = excluded.created_at, last_seen_at = excluded.last_seen_at, absolute_expires_at = excluded.absolute_expires_at,
      user_agent = excluded.user_agent, ip = excluded.ip, data = excluded.data, version = excluded.version, gc_at = excluded.gc_at,
      refresh_hash = excluded.refresh_hash, refresh_issued_at = excluded.refresh_issued_at, refresh_jkt = excluded.refresh_jkt,
      refresh_spent = excluded.refresh_spent, client_id = excluded.client_id`;

  const sessionState = async (db: Db, idHash: string, now: number) =>
    (await db`SELECT 1 FROM tessera_sessions WHERE id_hash = ${idHash} AND gc_at > ${now}`).length === 1 ? 'conflict' : 'missing';

  return {
    sessions: {
      create: (record, ttlMs, condition) =>
        run((db) =>
          db.begin(async (tx) => {
            const now = Date.now();
            if (condition) {
              // The user's generation row stays locked until commit, so a login or a rotation and an
              // advanceGeneration of the same user take turns: whichever commits second sees the other.
              const [row] = await tx<{ generation: number }[]>`
                INSERT INTO tessera_generations (user_id, generation) VALUES (${record.userId}, 0)
                ON CONFLICT (user_id) DO UPDATE SET generation = tessera_generations.generation
                RETURNING generation`;
              if ('rotates' in condition) {
                const deleted = await tx`DELETE FROM tessera_sessions WHERE id_hash = ${condition.rotates} AND gc_at > ${now}`;
                if (deleted.count === 0) return false;
              } else {
                if (row?.generation !== condition.generation) return false;
                if (condition.replaces !== undefined) await tx`DELETE FROM tessera_sessions WHERE id_hash = ${condition.replaces}`;
              }
            }
            await tx.unsafe(INSERT_SESSION, sessionValues(record, now + ttlMs) as never[], { prepare: true });
            return true;
          }),
        ),
      generation: (userId) =>
        run(async (db) => {
          const [row] = await db<{ generation: number }[]>`SELECT generation FROM tessera_generations WHERE user_id = ${userId}`;
          return row?.generation ?? 0;
        }),
      get: (idHash) =>
        run(async (db) => {
          const [row] = await db.unsafe<SessionRow[]>(GET_SESSION, [idHash, Date.now()], { prepare: true });
          return row ? toSession(row) : null;
        }),
      touch: (idHash, lastSeenAt, ttlMs) =>
        run(async (db) => {
          const now = Date.now();
          const updated = await db`
            UPDATE tessera_sessions SET last_seen_at = ${lastSeenAt}, gc_at = ${now + ttlMs} WHERE id_hash = ${idHash} AND gc_at > ${now}`;
          return updated.count === 1;
        }),
      rotateRefresh: (idHash, expectedHash, next, ttlMs) =>
        run(async (db) => {
          const now = Date.now();
          const updated = await db`
            UPDATE tessera_sessions SET refresh_hash = ${next.hash}, refresh_issued_at = ${next.issuedAt}, refresh_spent = ${next.spent},
              last_seen_at = ${next.issuedAt}, gc_at = ${now + ttlMs}
            WHERE id_hash = ${idHash} AND refresh_hash = ${expectedHash} AND gc_at > ${now}`;
          return updated.count === 1 ? 'rotated' : await sessionState(db, idHash, now);
        }),
      updateData: (idHash, expectedVersion, data) =>
        run(async (db) => {
          const now = Date.now();
          const updated = await db`
            UPDATE tessera_sessions SET data = ${JSON.stringify(data)}, version = version + 1
            WHERE id_hash = ${idHash} AND version = ${expectedVersion} AND gc_at > ${now}`;
          return updated.count === 1 ? 'updated' : await sessionState(db, idHash, now);
        }),
      delete: (idHash) =>
        run(async (db) => (await db`DELETE FROM tessera_sessions WHERE id_hash = ${idHash} AND gc_at > ${Date.now()}`).count === 1),
      listByUser: (userId) =>
        run(async (db) => {
          const rows = await db.unsafe<SessionRow[]>(SESSIONS_OF_USER, [userId, Date.now()], { prepare: true });
          return rows.map(toSession);
        }),
      advanceGeneration: (userId, exceptIdHash) =>
        run((db) =>
          db.begin(async (tx) => {
            // The row lock orders this against every login of the user (see create).
            await tx`INSERT INTO tessera_generations (user_id, generation) VALUES (${userId}, 1)
              ON CONFLICT (user_id) DO UPDATE SET generation = tessera_generations.generation + 1`;
            const now = Date.now();
            const deleted = await tx<{ id_hash: string; gc_at: number }[]>`
              DELETE FROM tessera_sessions WHERE user_id = ${userId} AND id_hash IS DISTINCT FROM ${exceptIdHash ?? null}
              RETURNING id_hash, gc_at`;
            return deleted.filter((row) => row.gc_at > now).map((row) => row.id_hash);
          }),
        ),
      count: () =>
        run(async (db) => {
          const [row] = await db<{ live: number }[]>`SELECT count(*)::bigint AS live FROM tessera_sessions WHERE gc_at > ${Date.now()}`;
          return row?.live ?? 0;
        }),
    },
    users: {
      create: (user) =>
        run(async (db) => {
          const inserted = await db`
            INSERT INTO tessera_users (id, username, username_key, password_hash, roles, created_at)
            VALUES (${user.id}, ${user.username}, ${normalizeUsername(user.username)}, ${user.passwordHash}, ${JSON.stringify(user.roles)},
              ${user.createdAt})
            ON CONFLICT DO NOTHING`;
          return inserted.count === 1;
        }),
      getById: (id) =>
        run(async (db) => {
          const [row] = await db<UserRow[]>`SELECT id, username, password_hash, roles, created_at FROM tessera_users WHERE id = ${id}`;
          return row ? toUser(row) : null;
        }),
      getByUsername: (username) =>
        run(async (db) => {
          const [row] = await db<UserRow[]>`
            SELECT id, username, password_hash, roles, created_at FROM tessera_users WHERE username_key = ${normalizeUsername(username)}`;
          return row ? toUser(row) : null;
        }),
      update: (id, changes) =>
        run(async (db) => {
          const updated = await db`
            UPDATE tessera_users SET
              password_hash = coalesce(${changes.passwordHash ?? null}, password_hash),
              roles = coalesce(${changes.roles === undefined ? null : JSON.stringify(changes.roles)}, roles)
            WHERE id = ${id}`;
          return updated.count === 1;
        }),
    },
    counters: {
      add: (key, delta, windowMs) =>
        run(async (db) => {
          const now = Date.now();
          const [row] = await db<{ count: number; gc_at: number }[]>`
            INSERT INTO tessera_counters (key, count, gc_at) VALUES (${key}, ${delta}, ${now + windowMs})
            ON CONFLICT (key) DO UPDATE SET
              count = CASE WHEN tessera_counters.gc_at > ${now} THEN tessera_counters.count + excluded.count ELSE excluded.count END,
              gc_at = CASE WHEN tessera_counters.gc_at > ${now} THEN tessera_counters.gc_at ELSE excluded.gc_at END
            RETURNING count, gc_at`;
          if (!row) throw new Error('counter upsert returned no row');
          return { count: row.count, resetInMs: row.gc_at - now };
        }),
      get: (key) =>
        run(async (db) => {
          const now = Date.now();
          const [row] = await db<{ count: number; gc_at: number }[]>`
            SELECT count, gc_at FROM tessera_counters WHERE key = ${key} AND gc_at > ${now}`;
          return row ? { count: row.count, resetInMs: row.gc_at - now } : null;
        }),
      reset: (key) => run(async (db) => void (await db`DELETE FROM tessera_counters WHERE key = ${key}`)),
    },
    revocations: {
      add: (entry) =>
        run(async (db) => {
          const [row] = await db<{ id: string }[]>`SELECT tessera_add_revocation(${JSON.stringify(entry)}, ${entry.expiresAt})::text AS id`;
          return row!.id;
        }),
      list: (now) =>
        run(async (db) => {
          const rows = await db<{ entry: string }[]>`SELECT entry FROM tessera_revocations WHERE expires_at > ${now} ORDER BY id`;
          return rows.map((row) => JSON.parse(row.entry) as RevocationEntry);
        }),
      follow: (onEntry) => followPostgresFeed(options.url, connection, onEntry),
      acknowledgements: {
        acknowledge: (instance, position) =>
          run(async (db) => {
            await db`
              INSERT INTO tessera_revocation_acks (instance, position, acked_at) VALUES (${instance}, ${position}::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
              ON CONFLICT (instance) DO UPDATE SET position = excluded.position, acked_at = excluded.acked_at`;
          }),
        behind: (position, withinMs) =>
          run(async (db) => {
            // One statement: the records silent for an hour go on the way.
            const rows = await db<{ instance: string }[]>`
              WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms),
                gone AS (DELETE FROM tessera_revocation_acks WHERE acked_at < (SELECT ms FROM now) - ${ACKNOWLEDGEMENT_KEPT_MS})
              SELECT instance FROM tessera_revocation_acks, now
              WHERE acked_at >= now.ms - ${withinMs} AND position < ${position}::bigint`;
            return rows.map((row) => row.instance);
          }),
        leave: (instance) => run(async (db) => void (await db`DELETE FROM tessera_revocation_acks WHERE instance = ${instance}`)),
      },
    },
    ping: () => run(async (db) => void (await db`SELECT 1`)),
    async close() {
      clearInterval(sweeper);
      await sql.end({ timeout: 1 });
    },
  };
}

export type * from './store.js';
