import postgres, { type Options } from 'postgres';
import type { RevocationEntry, RevocationFollower } from './store.js';
import { FEED_CHANNEL } from './postgres-schema.js';

/** A follower reads at least this often, notified or not: its heartbeat, and a catch-up for any lost notification (ms). */
const FEED_POLL_MS = 500;

/**
 * Follows the revocation table on a dedicated connection: `LISTEN` wakes it as soon as an entry
 * commits, and it reads everything after the last id it saw, at the latest every 500 ms. Each
 * answer is a heartbeat; a dropped connection makes it untrusted until it has listened again and
 * read from its last id, so nothing committed meanwhile is lost. Ids become visible in commit order
 * (see `tessera_add_revocation`), so "after the last id" never skips one. Delivery is at least
 * once; the revocation list is idempotent.
 */
export function followPostgresFeed(
  url: string | undefined,
  options: Options<Record<string, postgres.PostgresType>>,
  onEntry: (entry: RevocationEntry) => void,
): RevocationFollower {
  let stopped = false;
  let listening = false;
  let connected = false;
  let lastContact = Date.now();
  let lastId = 0n;
  let wake: (() => void) | undefined;
  const nudge = () => wake?.();

  const readerOptions: Options<Record<string, postgres.PostgresType>> = {
    ...options,
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    connection: { ...options.connection, application_name: `tessera:revocation-feed:${process.pid}` },
    onnotify: nudge,
    // A dropped connection may have missed notifications and no longer listens: untrusted at once.
    onclose: () => {
      listening = false;
      connected = false;
      nudge();
    },
  };
  const reader = url === undefined ? postgres(readerOptions) : postgres(url, readerOptions);

  /** Listens (again, after a reconnect) before reading, so no entry falls between the two. */
  const listen = async () => {
    if (listening) return;
    await reader`LISTEN ${reader(FEED_CHANNEL)}`;
    listening = true;
  };

  const ready = (async () => {
    for (;;) {
      try {
        await listen();
        const [row] = await reader<{ last: string | null }[]>`SELECT max(id)::text AS last FROM tessera_revocations`;
        lastId = BigInt(row?.last ?? 0);
        lastContact = Date.now();
        connected = true;
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
          await listen();
          const rows = await reader<{ id: string; entry: string }[]>`
            SELECT id::text, entry FROM tessera_revocations WHERE id > ${String(lastId)}::bigint ORDER BY id`;
          lastContact = Date.now();
          connected = listening;
          for (const row of rows) {
            lastId = BigInt(row.id);
            onEntry(JSON.parse(row.entry) as RevocationEntry);
          }
          if (rows.length === 0) await woken;
        } catch {
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 200)); // reconnecting
        }
      }
    },
    () => {},
  );

  return {
    ready,
    get lastContact() {
      return lastContact;
    },
    get connected() {
      return connected;
    },
    stop() {
      stopped = true;
      nudge();
      void reader.end({ timeout: 0 });
    },
  };
}
