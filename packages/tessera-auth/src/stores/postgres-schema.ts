import type { Sql } from 'postgres';

/**
 * Advisory-lock keys (any two 32-bit numbers; these spell "TSRA"): one for schema changes, one for
 * the sweep of expired rows, one serialising revocation inserts.
 */
export const LOCKS = { namespace: 0x54535241, migrate: 1, sweep: 2, revocations: 3 } as const;

/** The channel the revocation feed notifies on. */
export const FEED_CHANNEL = 'tessera_revocations';

/**
 * The schema, one step per release that changed it; a database records the steps it has. Each step
 * runs once, in a transaction holding an advisory lock, so instances starting together never race:
 * the first applies it, the others wait, then see it applied.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tessera_sessions (
    id_hash text PRIMARY KEY,
    user_id text NOT NULL,
    user_name text,
    roles text NOT NULL,
    created_at bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    absolute_expires_at bigint NOT NULL,
    user_agent text NOT NULL,
    ip text NOT NULL,
    data text NOT NULL,
    version integer NOT NULL,
    gc_at bigint NOT NULL,
    refresh_hash text,
    refresh_issued_at bigint,
    refresh_key text
  );
  CREATE INDEX tessera_sessions_user ON tessera_sessions (user_id);
  CREATE INDEX tessera_sessions_gc ON tessera_sessions (gc_at);
  CREATE TABLE tessera_generations (user_id text PRIMARY KEY, generation bigint NOT NULL);
  CREATE TABLE tessera_users (
    id text PRIMARY KEY,
    username text NOT NULL,
    username_key text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    roles text NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE TABLE tessera_counters (key text PRIMARY KEY, count bigint NOT NULL, gc_at bigint NOT NULL);
  CREATE INDEX tessera_counters_gc ON tessera_counters (gc_at);
  -- The durable revocation list is also the feed's log: id grows in commit order.
  CREATE TABLE tessera_revocations (id bigserial PRIMARY KEY, entry text NOT NULL, expires_at bigint NOT NULL);
  CREATE INDEX tessera_revocations_expiry ON tessera_revocations (expires_at);
  -- Inserts hold a lock until they commit, so ids become visible in order and a follower reading
  -- "after the last id I saw" never skips one that commits late; the notification wakes followers.
  CREATE FUNCTION tessera_add_revocation(entry text, expires_at bigint) RETURNS bigint LANGUAGE plpgsql AS $$
  DECLARE added bigint;
  BEGIN
    PERFORM pg_advisory_xact_lock(${LOCKS.namespace}, ${LOCKS.revocations});
    INSERT INTO tessera_revocations (entry, expires_at) VALUES (entry, expires_at) RETURNING id INTO added;
    PERFORM pg_notify('${FEED_CHANNEL}', added::text);
    RETURN added;
  END $$;
  `,
  // DPoP: the key a session's refresh handle is bound to.
  `ALTER TABLE tessera_sessions ADD COLUMN refresh_jkt text;`,
  // Refresh handles drawn at random: fingerprints of the former ones replace the successor key,
  // which is erased (the column stays for instances of the previous version during a rollout).
  `ALTER TABLE tessera_sessions ADD COLUMN refresh_spent text;
   UPDATE tessera_sessions SET refresh_key = NULL WHERE refresh_key IS NOT NULL;`,
  // Acknowledged revocation: each instance's heartbeat, the feed position it has applied, stamped
  // with the database's clock.
  `CREATE TABLE tessera_revocation_acks (instance text PRIMARY KEY, position bigint NOT NULL, acked_at bigint NOT NULL);`,
  // OAuth: the client a session was granted to.
  `ALTER TABLE tessera_sessions ADD COLUMN client_id text;`,
];

/** Brings the database to the latest schema; safe when several instances start at once. */
export async function migrate(sql: Sql<Record<string, never>>): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCKS.namespace}, ${LOCKS.migrate})`;
    await tx`CREATE TABLE IF NOT EXISTS tessera_schema (version integer NOT NULL)`;
    const [row] = await tx<{ version: number }[]>`SELECT version FROM tessera_schema`;
    const applied = row?.version ?? 0;
    if (applied > MIGRATIONS.length) {
      throw new Error(`The database's Tessera schema (${applied}) is newer than this version knows (${MIGRATIONS.length}).`);
    }
    for (const step of MIGRATIONS.slice(applied)) await tx.unsafe(step);
    if (row) await tx`UPDATE tessera_schema SET version = ${MIGRATIONS.length}`;
    else await tx`INSERT INTO tessera_schema (version) VALUES (${MIGRATIONS.length})`;
  });
}
