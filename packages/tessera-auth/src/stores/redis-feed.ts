import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { followerOf, type FollowerState } from './feed-follower.js';
import type { RevocationEntry, RevocationFollower } from './store.js';

/** Longest blocking read on the feed, so a healthy feed answers at least this often (ms). */
const FEED_POLL_MS = 500;

/** How long the revocation feed keeps entries (the durable sorted set keeps them longer). */
export const FEED_RETENTION_MS = 24 * 3600_000;

/**
 * Follows the revocation feed on a dedicated connection with blocking reads. It starts from the
 * feed's current last id (taken before `ready` resolves), so an entry added after that point is
 * never missed; after a disconnect it resumes from the last id it saw, so nothing added meanwhile
 * is lost (each read returns everything after that id: no COUNT, so one answer is a full catch-up).
 * Delivery is at least once; the revocation list is idempotent.
 */
export function followFeed(
  client: Redis | Cluster,
  feedKey: string,
  onEntry: (entry: RevocationEntry, position: string) => void,
): RevocationFollower {
  const readerOptions: RedisOptions = {
    enableOfflineQueue: true,
    commandTimeout: undefined,
    // The read in flight when the connection drops is sent again after the reconnect.
    maxRetriesPerRequest: null,
    // Named so that CLIENT LIST shows which process each feed connection belongs to.
    connectionName: `tessera:revocation-feed:${process.pid}`,
  };
  const reader =
    client instanceof Cluster
      ? client.duplicate(undefined, { enableOfflineQueue: true, redisOptions: { ...client.options.redisOptions, ...readerOptions } })
      : client.duplicate(readerOptions);
  reader.on('error', () => {});
  let stopped = false;
  // A dropped connection may hide entries: untrusted at once, until a read from the position answers.
  const state: FollowerState = { lastContact: Date.now(), connected: true, position: '0-0' };
  reader.on('close', () => (state.connected = false));
  const ready = (async () => {
    for (;;) {
      try {
        const newest = await reader.xrevrange(feedKey, '+', '-', 'COUNT', 1);
        state.position = newest[0]?.[0] ?? '0-0';
        state.lastContact = Date.now();
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
        try {
          // A short block: every return, empty or not, proves the feed is alive (a heartbeat). It
          // proves everything added before the read was sent has arrived, not more: a reply that
          // waited in the socket while this process was frozen is as old as its read.
          const sentAt = Date.now();
          const batches = await reader.xread('BLOCK', FEED_POLL_MS, 'STREAMS', feedKey, state.position);
          state.lastContact = sentAt;
          state.connected = true;
          for (const [, messages] of batches ?? []) {
            for (const [id, fields] of messages) {
              state.position = id;
              const json = fields[1];
              if (json !== undefined) onEntry(JSON.parse(json) as RevocationEntry, id);
            }
          }
        } catch {
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 200)); // reconnecting
        }
      }
    },
    () => {},
  );
  return followerOf(ready, state, () => {
    stopped = true;
    reader.disconnect();
  });
}
