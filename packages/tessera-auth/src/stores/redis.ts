import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../base/errors.js';
import { ownerTag, tagOfIdHash } from '../base/owner-tag.js';
import * as scripts from './redis-scripts.js';
import {
  normalizeUsername,
  type RotateRefreshResult,
  type RevocationEntry,
  type SessionData,
  type SessionRecord,
  type ServerStore,
  type UpdateDataResult,
  type UserRecord,
} from './store.js';
import type { RevocationFollower } from './store.js';

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

/** Longest blocking read on the feed, so a healthy feed answers at least this often (ms). */
const FEED_POLL_MS = 500;

/** How long the revocation feed keeps entries (the durable sorted set keeps them longer). */
const FEED_RETENTION_MS = 24 * 3600_000;

/**
 * Follows the revocation feed on a dedicated connection with blocking reads. It starts from the
 * feed's current last id (taken before `ready` resolves), so an entry added after that point is
 * never missed; after a disconnect it resumes from the last id it saw, so nothing added meanwhile
 * is lost (each read returns everything after that id: no COUNT, so one answer is a full catch-up).
 * Delivery is at least once; the revocation list is idempotent.
 */
function followFeed(client: Redis | Cluster, feedKey: string, onEntry: (entry: RevocationEntry) => void): RevocationFollower {
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
  let lastId = '0-0';
  let lastContact = Date.now();
  // A dropped connection may hide entries: untrusted at once, until a read from lastId answers.
  let connected = true;
  reader.on('close', () => (connected = false));
  const ready = (async () => {
    for (;;) {
      try {
        const newest = await reader.xrevrange(feedKey, '+', '-', 'COUNT', 1);
        lastId = newest[0]?.[0] ?? '0-0';
        lastContact = Date.now();
        return;
      } catch (error) {
        if (stopped) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();
  void ready.then(async () => {
    while (!stopped) {
      try {
        // A short block: every return, empty or not, proves the feed is alive (a heartbeat).
        const batches = await reader.xread('BLOCK', FEED_POLL_MS, 'STREAMS', feedKey, lastId);
        lastContact = Date.now();
        connected = true;
        for (const [, messages] of batches ?? []) {
          for (const [id, fields] of messages) {
            lastId = id;
            const json = fields[1];
            if (json !== undefined) onEntry(JSON.parse(json) as RevocationEntry);
          }
        }
      } catch {
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 200)); // reconnecting
      }
    }
  }, () => {});
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
      reader.disconnect();
    },
  };
}

type Script = { lua: string; sha: string };
const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });

const SCRIPTS = {
  createSession: script(scripts.CREATE_SESSION),
  touchSession: script(scripts.TOUCH_SESSION),
  updateSessionData: script(scripts.UPDATE_SESSION_DATA),
  rotateRefresh: script(scripts.ROTATE_REFRESH),
  deleteSession: script(scripts.DELETE_SESSION),
  listUserSessions: script(scripts.LIST_USER_SESSIONS),
  advanceGeneration: script(scripts.ADVANCE_GENERATION),
  createUser: script(scripts.CREATE_USER),
  deleteIfEqual: script(scripts.DELETE_IF_EQUAL),
  updateUser: script(scripts.UPDATE_USER),
  addToCounter: script(scripts.ADD_TO_COUNTER),
  readCounter: script(scripts.READ_COUNTER),
};

/**
 * Why ioredis: its `commandTimeout` covers the whole round trip, so a Redis that accepts a command
 * and never answers (frozen, overloaded) still yields a 503 in time. node-redis was about 10%
 * faster per command here, but its timeout stops once a command is written, which would leave a
 * request hanging on a frozen server.
 *
 * Options for a client that fails fast: no offline queue (a command issued while disconnected
 * fails at once instead of waiting for a reconnect), a per-command timeout, and endless
 * reconnection in the background. Together they turn an outage into quick 503s, not hangs.
 */
export function failFastRedisOptions(commandTimeoutMs = 1000): RedisOptions & { retryStrategy: (attempt: number) => number } {
  return {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick share one socket write: about 10% more requests/s.
    enableAutoPipelining: true,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  };
}

/** The same fail-fast behaviour for a Redis Cluster: each node's connection is a fail-fast client. */
export function failFastClusterOptions(commandTimeoutMs = 1000): ClusterOptions {
  const { retryStrategy, enableAutoPipelining, ...redisOptions } = failFastRedisOptions(commandTimeoutMs);
  return {
    redisOptions,
    enableOfflineQueue: false,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy,
    // Redirections (a slot moved, a failover) are followed a few times, then the command fails.
    maxRedirections: 4,
  };
}

function connect(options: RedisStoreOptions): Redis | Cluster {
  if (options.cluster) {
    const nodes = options.cluster.map((node) => {
      const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(node);
      if (!match) throw new TypeError(`Redis Cluster node must be host:port, got "${node}"`);
      return { host: match[1] as string, port: Number(match[2]) };
    });
    if (nodes.length === 0) throw new TypeError('Redis Cluster needs at least one seed node');
    return new Cluster(nodes, failFastClusterOptions(options.commandTimeoutMs));
  }
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', failFastRedisOptions(options.commandTimeoutMs));
}

const sessionFields = (record: SessionRecord): string[] => [
  'u', record.userId,
  'n', record.userName ?? '',
  'r', JSON.stringify(record.roles),
  'c', String(record.createdAt),
  'l', String(record.lastSeenAt),
  'a', String(record.absoluteExpiresAt),
  'ua', record.userAgent,
  'ip', record.ip,
  'd', JSON.stringify(record.data),
  'v', String(record.version),
  ...(record.refresh ? ['fh', record.refresh.hash, 'ft', String(record.refresh.issuedAt), 'fk', record.refresh.key] : []),
];

const toSession = (idHash: string, h: Record<string, string>): SessionRecord => ({
  idHash,
  userId: h.u ?? '',
  userName: h.n || undefined,
  roles: JSON.parse(h.r ?? '[]') as string[],
  createdAt: Number(h.c),
  lastSeenAt: Number(h.l),
  absoluteExpiresAt: Number(h.a),
  userAgent: h.ua ?? '',
  ip: h.ip ?? '',
  data: JSON.parse(h.d ?? '{}') as SessionData,
  version: Number(h.v),
  ...(h.fh !== undefined && { refresh: { hash: h.fh, issuedAt: Number(h.ft), key: h.fk ?? '' } }),
});

const pairsToObject = (pairs: string[]): Record<string, string> => {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) object[pairs[i] as string] = pairs[i + 1] as string;
  return object;
};

/**
 * The shared store for several instances. Keys are prefixed, lifetimes are set by Redis (PEXPIRE),
 * multi-key operations are Lua scripts, and every command has a timeout.
 */
export function createRedisStore(options: RedisStoreOptions = {}): ServerStore {
  const prefix = options.prefix ?? 'tessera:';
  // A brace would make the prefix the hash tag and put every key in one cluster slot.
  if (/[{}]/.test(prefix)) throw new TypeError('The Redis key prefix may not contain { or }');
  const ownsClient = options.client === undefined;
  const client = options.client ?? connect(options);
  // Errors surface through rejected commands; without a listener ioredis would log each one.
  if (ownsClient) client.on('error', () => {});

  const sessionPrefix = `${prefix}s:`;
  const indexPrefix = `${prefix}us:`;
  const sessionPattern = `${sessionPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  // {tag}: one hash slot per owner for a user's sessions and their index (see redis-scripts.ts).
  const sessionKey = (idHash: string) => `${sessionPrefix}{${tagOfIdHash(idHash)}}${idHash}`;
  const indexKey = (userId: string) => `${indexPrefix}{${ownerTag(userId)}}${userId}`;
  const generationKey = (userId: string) => `${prefix}ug:{${ownerTag(userId)}}${userId}`;
  const userKey = (id: string) => `${prefix}user:${id}`;
  const usernameKey = (username: string) => `${prefix}username:${normalizeUsername(username)}`;
  const counterKey = (key: string) => `${prefix}c:${key}`;
  // A sorted set scored by expiry: pruning is one ZREMRANGEBYSCORE. The live feed across
  // instances (Redis Streams) is separate; this is the durable copy replayed at startup.
  // One hash tag, so the transaction that writes both stays in one cluster slot.
  const revocationsKey = `${prefix}{revocations}`;
  const feedKey = `${prefix}{revocations}:feed`;

  /** Every command goes through here: any failure is the store being unavailable. */
  const call = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  };

  const run = (s: Script, keys: string[], args: (string | number)[]): Promise<unknown> =>
    call(async () => {
      try {
        return await client.evalsha(s.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await client.eval(s.lua, keys.length, ...keys, ...args);
      }
    });

  const deleteSession = async (idHash: string) => (await run(SCRIPTS.deleteSession, [sessionKey(idHash)], [indexPrefix, idHash])) === 1;

  const toUser = (h: Record<string, string>): UserRecord | null =>
    h.id === undefined
      ? null
      : {
          id: h.id,
          username: h.username ?? '',
          passwordHash: h.passwordHash ?? '',
          roles: JSON.parse(h.roles ?? '[]') as string[],
          createdAt: Number(h.createdAt),
        };

  return {
    sessions: {
      async create(record, ttlMs, condition) {
        const keys = [sessionKey(record.idHash), indexKey(record.userId), generationKey(record.userId)];
        let expectedGeneration = '*'; // no condition: written whatever the generation
        if (condition && 'rotates' in condition) {
          expectedGeneration = '';
          keys.push(sessionKey(condition.rotates));
        } else if (condition) {
          expectedGeneration = String(condition.generation);
          const { replaces } = condition;
          if (replaces !== undefined && tagOfIdHash(replaces) === ownerTag(record.userId)) keys.push(sessionKey(replaces));
          // Another user's session lives in another cluster slot: deleted on its own, first.
          else if (replaces !== undefined) await deleteSession(replaces);
        }
        return (await run(SCRIPTS.createSession, keys, [ttlMs, record.idHash, sessionPrefix, expectedGeneration, ...sessionFields(record)])) === 1;
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
        return (await run(SCRIPTS.rotateRefresh, [sessionKey(idHash)], [expectedHash, next.hash, next.issuedAt, ttlMs])) as RotateRefreshResult;
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
        return (await run(SCRIPTS.advanceGeneration, [indexKey(userId), generationKey(userId)], [sessionPrefix, exceptIdHash ?? ''])) as string[];
      },
      // Redis expires idle sessions itself, so every session key it still has is live.
      async count() {
        return call(async () => {
          let live = 0;
          // A cluster's keys are spread over its masters: each one is scanned.
          for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
            let cursor = '0';
            do {
              const [next, keys] = await node.scan(cursor, 'MATCH', sessionPattern, 'COUNT', 1000);
              cursor = next;
              live += keys.length;
            } while (cursor !== '0');
          }
          return live;
        });
      },
    },
    users: {
      async create(user) {
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
        await call(() => client.multi().zadd(revocationsKey, entry.expiresAt, json).xadd(feedKey, 'MINID', '~', minId, '*', 'e', json).exec());
      },
      follow(onEntry) {
        return followFeed(client, feedKey, onEntry);
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
