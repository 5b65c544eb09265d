import {
  normalizeUsername,
  type CounterState,
  type RevocationEntry,
  type SessionData,
  type SessionRecord,
  type ServerStore,
  type UpdateDataResult,
  type UserRecord,
} from './store.js';

/** Options of the in-process store. */
export interface MemoryStoreOptions {
  /** How often expired records are swept, in milliseconds (default 60 000). */
  sweepIntervalMs?: number;
}

interface Expiring<T> {
  value: T;
  /** Real time (Date.now) after which the record may be dropped. */
  gcAt: number;
}

/**
 * A store in this process's memory: for tests, development and single-instance servers that may
 * lose every session on restart. Every method is atomic because it runs without awaiting.
 *
 * @example
 * ```ts
 * const auth = createAuth({ strategy: 'stateful', store: createMemoryStore() });
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): ServerStore {
  const sessions = new Map<string, Expiring<SessionRecord>>();
  const userIndex = new Map<string, Set<string>>();
  const generations = new Map<string, number>();
  const usersById = new Map<string, UserRecord>();
  const userIdByName = new Map<string, string>();
  const counters = new Map<string, Expiring<number>>();
  const revocations: RevocationEntry[] = [];

  const unindex = (record: SessionRecord): void => {
    const ids = userIndex.get(record.userId);
    ids?.delete(record.idHash);
    if (ids?.size === 0) userIndex.delete(record.userId);
  };

  const removeSession = (idHash: string): boolean => {
    const entry = sessions.get(idHash);
    if (!entry) return false;
    sessions.delete(idHash);
    unindex(entry.value);
    return entry.gcAt > Date.now();
  };

  const liveSession = (idHash: string): Expiring<SessionRecord> | undefined => {
    const entry = sessions.get(idHash);
    if (entry && entry.gcAt <= Date.now()) return void removeSession(idHash);
    return entry;
  };

  const liveCounter = (key: string): Expiring<number> | undefined => {
    const entry = counters.get(key);
    if (entry && entry.gcAt <= Date.now()) return void counters.delete(key);
    return entry;
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [key, entry] of sessions) if (entry.gcAt <= now) removeSession(key);
    for (const [key, entry] of counters) if (entry.gcAt <= now) counters.delete(key);
  };
  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 60_000);
  sweeper.unref();

  // JSON round trip: the memory store keeps exactly what a durable store would.
  const copyData = (data: SessionData): SessionData => JSON.parse(JSON.stringify(data)) as SessionData;

  return {
    sessions: {
      async create(record, ttlMs, condition) {
        if (condition && 'rotates' in condition) {
          if (!removeSession(condition.rotates)) return false;
        } else if (condition) {
          if ((generations.get(record.userId) ?? 0) !== condition.generation) return false;
          if (condition.replaces !== undefined) removeSession(condition.replaces);
        }
        sessions.set(record.idHash, { value: { ...record, data: copyData(record.data) }, gcAt: Date.now() + ttlMs });
        let ids = userIndex.get(record.userId);
        if (!ids) userIndex.set(record.userId, (ids = new Set()));
        ids.add(record.idHash);
        return true;
      },
      async generation(userId) {
        return generations.get(userId) ?? 0;
      },
      async get(idHash) {
        return liveSession(idHash)?.value ?? null;
      },
      async touch(idHash, lastSeenAt, ttlMs) {
        const entry = liveSession(idHash);
        if (!entry) return false;
        entry.value = { ...entry.value, lastSeenAt };
        entry.gcAt = Date.now() + ttlMs;
        return true;
      },
      async rotateRefresh(idHash, expectedHash, next, ttlMs) {
        const entry = liveSession(idHash);
        if (!entry) return 'missing';
        const { refresh } = entry.value;
        if (!refresh || refresh.hash !== expectedHash) return 'conflict';
        entry.value = {
          ...entry.value,
          lastSeenAt: next.issuedAt,
          refresh: { ...refresh, hash: next.hash, issuedAt: next.issuedAt, spent: next.spent },
        };
        entry.gcAt = Date.now() + ttlMs;
        return 'rotated';
      },
      async updateData(idHash, expectedVersion, data): Promise<UpdateDataResult> {
        const entry = liveSession(idHash);
        if (!entry) return 'missing';
        if (entry.value.version !== expectedVersion) return 'conflict';
        entry.value = { ...entry.value, data: copyData(data), version: expectedVersion + 1 };
        return 'updated';
      },
      async delete(idHash) {
        return removeSession(idHash);
      },
      async listByUser(userId) {
        const records: SessionRecord[] = [];
        for (const idHash of [...(userIndex.get(userId) ?? [])]) {
          const entry = liveSession(idHash);
          if (entry) records.push(entry.value);
        }
        return records;
      },
      async advanceGeneration(userId, exceptIdHash) {
        generations.set(userId, (generations.get(userId) ?? 0) + 1);
        const deleted: string[] = [];
        for (const idHash of [...(userIndex.get(userId) ?? [])]) {
          if (idHash !== exceptIdHash && removeSession(idHash)) deleted.push(idHash);
        }
        return deleted;
      },
      async count() {
        const now = Date.now();
        let live = 0;
        for (const entry of sessions.values()) if (entry.gcAt > now) live++;
        return live;
      },
    },
    users: {
      async create(user) {
        const key = normalizeUsername(user.username);
        if (userIdByName.has(key) || usersById.has(user.id)) return false;
        userIdByName.set(key, user.id);
        usersById.set(user.id, { ...user, roles: [...user.roles] });
        return true;
      },
      async getById(id) {
        return usersById.get(id) ?? null;
      },
      async getByUsername(username) {
        const id = userIdByName.get(normalizeUsername(username));
        return id === undefined ? null : (usersById.get(id) ?? null);
      },
      async update(id, changes) {
        const user = usersById.get(id);
        if (!user) return false;
        usersById.set(id, {
          ...user,
          ...(changes.passwordHash !== undefined && { passwordHash: changes.passwordHash }),
          ...(changes.roles !== undefined && { roles: [...changes.roles] }),
        });
        return true;
      },
    },
    counters: {
      async add(key, delta, windowMs): Promise<CounterState> {
        const now = Date.now();
        let entry = liveCounter(key);
        if (!entry) counters.set(key, (entry = { value: 0, gcAt: now + windowMs }));
        entry.value += delta;
        return { count: entry.value, resetInMs: entry.gcAt - now };
      },
      async get(key) {
        const entry = liveCounter(key);
        return entry ? { count: entry.value, resetInMs: entry.gcAt - Date.now() } : null;
      },
      async reset(key) {
        counters.delete(key);
      },
    },
    revocations: {
      async add(entry) {
        revocations.push(entry);
      },
      async list(now) {
        // Prune in place: the list only ever holds what can still kill a token.
        const live = revocations.filter((entry) => entry.expiresAt > now);
        revocations.splice(0, revocations.length, ...live);
        return [...live];
      },
    },
    async ping() {},
    async close() {
      clearInterval(sweeper);
    },
  };
}

export type * from './store.js';
