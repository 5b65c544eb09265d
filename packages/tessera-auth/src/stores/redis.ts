import { Cluster, type Redis } from 'ioredis';
import { ownerTag, tagOfIdHash } from '../base/owner-tag.js';
import { StoreUnavailableError } from '../base/errors.js';
import { connect } from './redis-connection.js';
import { FEED_RETENTION_MS, followFeed } from './redis-feed.js';
import { pairsToObject, redisKeys, sessionFields, toSession, toUser } from './redis-keys.js';
import { scriptRunner, SCRIPTS } from './redis-script-runner.js';
import type { RevocationEntry, RotateRefreshResult, SessionRecord, ServerStore, UpdateDataResult } from './store.js';

export { failFastClusterOptions, failFastRedisOptions } from './redis-connection.js';

/** An instance's acknowledgement record outlives its last heartbeat by this long, then goes. */
const ACKNOWLEDGEMENT_KEPT_MS = 3600_000;

/** Where the Redis store connects and how it names its keys. */
export interface RedisStoreOptions {
  /** `redis://host:port/db` (default `redis://127.0.0.1:6379`); ignored when `client` or `cluster` is given. */
  url?: string;
  /**
   * Seed nodes of a Redis Cluster (`host:port`, a few are enough: the rest is discovered). Each
   * user's keys share one slot, so every atomic operation stays one script.
   */
  cluster?: readonly string[];
  /** Bring your own ioredis client or cluster; Tessera then leaves its lifecycle (and options) to you. */
  client?: Redis | Cluster;
  /** Prefix of every key (default `tessera:`), so one Redis can serve several applications. No braces. */
  prefix?: string;
  /** Per-command timeout in milliseconds (default 1000). A slower answer is a 503, never a hang. */
  commandTimeoutMs?: number;
}

/**
 * The shared store for several instances. Keys are prefixed, lifetimes are set by Redis (PEXPIRE),
 * multi-key operations are Lua scripts, and every command has a timeout.
 *
 * @example
 * ```ts
 * const store = createRedisStore({ url: process.env.REDIS_URL });
 * await store.ping(); // fails fast while Redis is unreachable
 * ```
 */
export function createRedisStore(options: RedisStoreOptions = {}): ServerStore {
  const keys = redisKeys(options.prefix ?? 'tessera:');
  const ownsClient = options.client === undefined;
  const client = options.client ?? connect(options);
  // Errors surface through rejected commands; without a listener ioredis would log each one.
  if (ownsClient) client.on('error', () => {});

  const { sessionPrefix, indexPrefix, sessionKey, indexKey, generationKey, userKey, usernameKey, counterKey } = keys;
  const { revocationsKey, feedKey, acknowledgementsKey } = keys;
  const { call, run } = scriptRunner(client);

  const deleteSession = async (idHash: string) => (await run(SCRIPTS.deleteSession, [sessionKey(idHash)], [indexPrefix, idHash])) === 1;

  return {
    sessions: {
      async create(record, ttlMs, condition) {
        const touched = [sessionKey(record.idHash), indexKey(record.userId), generationKey(record.userId)];
        let expectedGeneration = '*'; // no condition: written whatever the generation
        if (condition && 'rotates' in condition) {
          expectedGeneration = '';
          touched.push(sessionKey(condition.rotates));
        } else if (condition) {
          expectedGeneration = String(condition.generation);
          const { replaces } = condition;
          if (replaces !== undefined && tagOfIdHash(replaces) === ownerTag(record.userId)) touched.push(sessionKey(replaces));
          // Another user's session lives in another cluster slot: deleted on its own, first.
          else if (replaces !== undefined) await deleteSession(replaces);
        }
        return (
          (await run(SCRIPTS.createSession, touched, [
            ttlMs,
            record.idHash,
            sessionPrefix,
            expectedGeneration,
            ...sessionFields(record),
          ])) === 1
        );
      },
      async generation(userId) {
        return Number((await call(() => client.get(generationKey(userId)))) ?? 0);
      },
      async get(idHash) {
        const fields = await call(() => client.hgetall(sessionKey(idHash)));
        return fields.u === undefined ? null : toSession(idHash, fields);
      },
      async touch(idHash, lastSeenAt, ttlMs) {
        return (await run(SCRIPTS.touchSession, [sessionKey(idHash)], [lastSeenAt, ttlMs])) === 1;
      },
      async rotateRefresh(idHash, expectedHash, next, ttlMs) {
        return (await run(
          SCRIPTS.rotateRefresh,
          [sessionKey(idHash)],
          [expectedHash, next.hash, next.issuedAt, next.spent, ttlMs],
        )) as RotateRefreshResult;
      },
      async updateData(idHash, expectedVersion, data) {
        const result = await run(SCRIPTS.updateSessionData, [sessionKey(idHash)], [expectedVersion, JSON.stringify(data)]);
        return result as UpdateDataResult;
      },
      delete: deleteSession,
      async listByUser(userId) {
        const flat = (await run(SCRIPTS.listUserSessions, [indexKey(userId)], [sessionPrefix])) as (string | string[])[];
        const records: SessionRecord[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          records.push(toSession(flat[i] as string, pairsToObject(flat[i + 1] as string[])));
        }
        return records.sort((a, b) => a.createdAt - b.createdAt);
      },
      async advanceGeneration(userId, exceptIdHash) {
        return (await run(
          SCRIPTS.advanceGeneration,
          [indexKey(userId), generationKey(userId)],
          [sessionPrefix, exceptIdHash ?? ''],
        )) as string[];
      },
      // Redis expires idle sessions itself, so every session key it still has is live.
      async count() {
        return call(async () => {
          let live = 0;
          // A cluster's keys are spread over its masters: each one is scanned.
          for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
            let cursor = '0';
            do {
              const [next, found] = await node.scan(cursor, 'MATCH', keys.sessionPattern, 'COUNT', 1000);
              cursor = next;
              live += found.length;
            } while (cursor !== '0');
          }
          return live;
        });
      },
    },
    users: {
      async create(user) {
        // prettier-ignore
        const fields = [
          'id', user.id,
          'username', user.username,
          'passwordHash', user.passwordHash,
          'roles', JSON.stringify(user.roles),
          'createdAt', String(user.createdAt),
        ];
        // Two keys in two cluster slots, so no one script: the record first under its fresh random
        // id (reachable by no name yet), then the name claimed with SET NX, which decides between
        // racing registrations. The loser's record is removed; a crash between the steps leaves
        // only a record no name leads to.
        if ((await run(SCRIPTS.createUser, [userKey(user.id)], fields)) !== 1) return false;
        const claimed = await call(() => client.set(usernameKey(user.username), user.id, 'NX')).catch(async (error: unknown) => {
          // The claim may have landed with its answer lost: undo it (only if still ours), then the record.
          await run(SCRIPTS.deleteIfEqual, [usernameKey(user.username)], [user.id])
            .then(() => call(() => client.del(userKey(user.id))))
            .catch(() => {});
          throw error;
        });
        if (claimed === 'OK') return true;
        await call(() => client.del(userKey(user.id)));
        return false;
      },
      async getById(id) {
        return toUser(await call(() => client.hgetall(userKey(id))));
      },
      async getByUsername(username) {
        const id = await call(() => client.get(usernameKey(username)));
        return id === null ? null : toUser(await call(() => client.hgetall(userKey(id))));
      },
      async update(id, changes) {
        const fields: string[] = [];
        if (changes.passwordHash !== undefined) fields.push('passwordHash', changes.passwordHash);
        if (changes.roles !== undefined) fields.push('roles', JSON.stringify(changes.roles));
        if (fields.length === 0) return (await call(() => client.exists(userKey(id)))) === 1;
        return (await run(SCRIPTS.updateUser, [userKey(id)], fields)) === 1;
      },
    },
    counters: {
      async add(key, delta, windowMs) {
        const [count, ttl] = (await run(SCRIPTS.addToCounter, [counterKey(key)], [delta, windowMs])) as [number, number];
        return { count, resetInMs: Math.max(ttl, 0) };
      },
      async get(key) {
        const read = (await run(SCRIPTS.readCounter, [counterKey(key)], [])) as [number, number] | null;
        return read === null || read[1] <= 0 ? null : { count: read[0], resetInMs: read[1] };
      },
      async reset(key) {
        await call(() => client.del(counterKey(key)));
      },
    },
    revocations: {
      async add(entry) {
        const json = JSON.stringify(entry);
        // One transaction: the durable copy and the feed never disagree. The feed is trimmed by
        // age; what it has lost, the sorted set still holds for replays.
        const minId = `${Math.max(0, Date.now() - FEED_RETENTION_MS)}-0`;
        const results = await call(() =>
          client.multi().zadd(revocationsKey, entry.expiresAt, json).xadd(feedKey, 'MINID', '~', minId, '*', 'e', json).exec(),
        );
        const [error, position] = results?.[1] ?? [new Error('the transaction was discarded')];
        if (error) throw new StoreUnavailableError(error);
        return position as string;
      },
      follow(onEntry) {
        return followFeed(client, feedKey, onEntry);
      },
      acknowledgements: {
        async acknowledge(instance, position) {
          await run(SCRIPTS.acknowledge, [acknowledgementsKey], [instance, position]);
        },
        async behind(position, withinMs) {
          return (await run(SCRIPTS.behind, [acknowledgementsKey], [position, withinMs, ACKNOWLEDGEMENT_KEPT_MS])) as string[];
        },
        async leave(instance) {
          await call(() => client.hdel(acknowledgementsKey, instance));
        },
      },
      async list(now) {
        await call(() => client.zremrangebyscore(revocationsKey, '-inf', now));
        const members = await call(() => client.zrangebyscore(revocationsKey, `(${now}`, '+inf'));
        return members.map((member) => JSON.parse(member) as RevocationEntry);
      },
    },
    async ping() {
      await call(() => client.ping());
    },
    async close() {
      if (ownsClient) client.disconnect();
    },
  };
}

export type * from './store.js';
