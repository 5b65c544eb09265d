import postgres, { type Options, type PostgresType, type Sql } from 'postgres';
import { followerOf, type FollowerState } from './feed-follower.js';
import type { RevocationEntry, RevocationFollower } from './store.js';
import { FEED_CHANNEL } from './postgres-schema.js';

/** A follower reads at least this often, notified or not: its heartbeat, and a catch-up for any lost notification (ms). */
const FEED_POLL_MS = 500;
/**
 * A read unanswered for this long is abandoned and a new connection opened (a dead host may never
 * answer). Silence is not a known loss: the copy stays trusted until the staleness bound, as on
 * Redis, and a store frozen for a moment costs no 503 (ms).
 */
const READ_DEADLINE_MS = 2_000;

/**
 * Follows the revocation table on a dedicated connection: `LISTEN` wakes it as soon as an entry
 * commits, and it reads everything after the last id it saw, at the latest every 500 ms. Each
 * answer is a heartbeat. A dropped connection makes it untrusted at once (a silent one, after the
 * staleness bound) until a new one has listened and read from the last id, so nothing committed
 * meanwhile is lost. Ids become visible in commit order (see `tessera_add_revocation`), so "after the last id" never skips one. Delivery is
 * at least once; the revocation list is idempotent.
 */
export function followPostgresFeed(
  url: string | undefined,
  options: Options<Record<string, PostgresType>>,
  onEntry: (entry: RevocationEntry, position: string) => void,
): RevocationFollower {
  let stopped = false;
  // The position is the last id seen; empty until the first read has taken the newest.
  const state: FollowerState = { lastContact: Date.now(), connected: false, position: '' };
  let wake: (() => void) | undefined;
  const nudge = () => wake?.();

  let reader: Sql<Record<string, never>> | undefined;
  let listening = false;
  const open = () => {
    const readerOptions: Options<Record<string, PostgresType>> = {
      ...options,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      connection: { ...options.connection, application_name: `tessera:revocation-feed:${process.pid}` },
      onnotify: nudge,
      // A dropped connection may have missed notifications and no longer listens: untrusted at once.
      onclose: () => {
        if (reader !== created) return; // a connection already replaced
        listening = false;
        state.connected = false;
        nudge();
      },
    };
    const created = (url === undefined ? postgres(readerOptions) : postgres(url, readerOptions)) as unknown as Sql<Record<string, never>>;
    return created;
  };
  /** Abandons the connection; `lost`: it failed or closed, which makes the copy untrusted at once. */
  const drop = (lost: boolean) => {
    void reader?.end({ timeout: 0 }).catch(() => {});
    reader = undefined;
    listening = false;
    if (lost) state.connected = false;
  };
  const unanswered = new Error('the revocation feed did not answer');
  // No answer in time (the read's deadline; Postgres.js's connect, queue or query timeout against a
  // frozen server) is silence, not a known loss: the staleness bound decides.
  const silence = (error: unknown) => error === unanswered || /_TIMEOUT$/.test(String((error as { code?: unknown } | undefined)?.code));

  /** One read after the position (the newest id when there is none yet), listening first so nothing falls in between. */
  const read = async (): Promise<{ id: string; entry: string | null }[]> => {
    reader ??= open();
    const sql = reader;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unanswered), READ_DEADLINE_MS);
    });
    const work = (async () => {
      if (!listening) {
        await sql`LISTEN ${sql(FEED_CHANNEL)}`;
        listening = true;
      }
      if (state.position === '')
        return sql<{ id: string; entry: null }[]>`SELECT coalesce(max(id), 0)::text AS id, NULL AS entry FROM tessera_revocations`;
      // By the number: `ORDER BY id` would sort the text column of that name, putting 10 before 9.
      return sql<
        { id: string; entry: string }[]
      >`SELECT id::text, entry FROM tessera_revocations WHERE id > ${state.position}::bigint ORDER BY tessera_revocations.id`;
    })();
    work.catch(() => {});
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      drop(!silence(error));
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };

  const poll = async () => {
    // An answer proves everything committed before the read was sent has arrived, not more.
    const sentAt = Date.now();
    const rows = await read();
    state.lastContact = sentAt;
    state.connected = listening;
    for (const row of rows) {
      state.position = row.id;
      if (row.entry !== null) onEntry(JSON.parse(row.entry) as RevocationEntry, row.id);
    }
    return rows.length;
  };

  const ready = (async () => {
    for (;;) {
      try {
        await poll(); // the newest id: entries committed from here on are delivered
        return;
      } catch (error) {
        if (stopped) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();

  void ready.then(
    async () => {
      while (!stopped) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, FEED_POLL_MS).unref();
        });
        try {
          if ((await poll()) === 0) await woken;
        } catch {
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 200)); // reconnecting
        }
      }
    },
    () => {},
  );

  return followerOf(ready, state, () => {
    stopped = true;
    nudge();
    drop(true);
  });
}
