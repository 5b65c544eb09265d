import { ownerTag, tagOfIdHash } from '../base/owner-tag.js';
import { normalizeUsername, type SessionData, type SessionRecord, type UserRecord } from './store.js';

/** The key layout under one prefix; see redis-scripts.ts for why keys carry a `{tag}`. */
export function redisKeys(prefix: string) {
  // A brace would make the prefix the hash tag and put every key in one cluster slot.
  if (/[{}]/.test(prefix)) throw new TypeError('The Redis key prefix may not contain { or }');
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
  // Each instance's heartbeat: the feed position it has applied (acknowledged revocation).
  const acknowledgementsKey = `${prefix}{revocations}:acks`;
  return {
    sessionPrefix,
    indexPrefix,
    sessionPattern,
    sessionKey,
    indexKey,
    generationKey,
    userKey,
    usernameKey,
    counterKey,
    revocationsKey,
    feedKey,
    acknowledgementsKey,
  };
}

/** Session hashes use short fields (see redis-scripts.ts), one field and its value a line. */
// prettier-ignore
export const sessionFields = (record: SessionRecord): string[] => [
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
  ...(record.refresh ? ['fh', record.refresh.hash, 'ft', String(record.refresh.issuedAt), 'fs', record.refresh.spent] : []),
  ...(record.refresh?.jkt !== undefined ? ['fj', record.refresh.jkt] : []),
  ...(record.clientId !== undefined ? ['ci', record.clientId] : []),
];

export const toSession = (idHash: string, h: Record<string, string>): SessionRecord => ({
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
  ...(h.fh !== undefined && {
    refresh: { hash: h.fh, issuedAt: Number(h.ft), spent: h.fs ?? '', ...(h.fj !== undefined && { jkt: h.fj }) },
  }),
  ...(h.ci !== undefined && { clientId: h.ci }),
});

export const pairsToObject = (pairs: string[]): Record<string, string> => {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) object[pairs[i] as string] = pairs[i + 1] as string;
  return object;
};

export const toUser = (h: Record<string, string>): UserRecord | null =>
  h.id === undefined
    ? null
    : {
        id: h.id,
        username: h.username ?? '',
        passwordHash: h.passwordHash ?? '',
        roles: JSON.parse(h.roles ?? '[]') as string[],
        createdAt: Number(h.createdAt),
      };
