import type { Clock } from '../base/clock.js';
import type { DeviceSession, Identity } from '../base/types.js';
import { AuthenticationRequiredError, CredentialsChangedError, SessionConflictError, SessionDataTooLargeError } from '../base/errors.js';
import type { RefreshState, SessionData, SessionRecord, Store } from '../stores/store.js';
import { generateSessionId, hashSessionId, isWellFormedSessionId } from './session-id.js';

export interface SessionPolicy {
  /** A session unused for this long ends (ms). */
  readonly idleTimeoutMs: number;
  /** A session ends this long after login, however active (ms). Sliding renewal never passes it. */
  readonly absoluteTimeoutMs: number;
  /** Activity is written at most once per this interval (ms); other requests only read. */
  readonly touchIntervalMs: number;
  /** Largest serialised session data, in bytes. */
  readonly maxDataBytes: number;
  /**
   * How long a record is kept after its session ends (ms): as long as tokens issued from it may
   * still be accepted (their leeway past `exp`), so that ending all of a user's credentials finds
   * it and revokes its tokens.
   */
  readonly retainMs: number;
}

/** Whose session it is: the identity logging in. */
export type SessionOwner = Identity;

export interface ClientInfo {
  /** What the device list shows: the browser's User-Agent, or an OAuth client's name. */
  readonly userAgent: string;
  readonly ip: string;
  /** The OAuth client the session is granted to (see `SessionRecord.clientId`). */
  readonly clientId?: string | undefined;
}

/** How many times a data update is retried when another request changed the data first. */
const MAX_UPDATE_ATTEMPTS = 16;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type SessionManager = ReturnType<typeof createSessionManager>;

/** When a session ends if nothing else happens: idle limit or absolute limit, whichever is first. */
export function sessionExpiresAt(record: SessionRecord, policy: SessionPolicy): number {
  return Math.min(record.lastSeenAt + policy.idleTimeoutMs, record.absoluteExpiresAt);
}

/** The store lifetime of a record written at `now`: until its session ends, plus the retention for its tokens. */
export function storeTtlMs(record: SessionRecord, policy: SessionPolicy, now: number): number {
  return sessionExpiresAt(record, policy) - now + policy.retainMs;
}

/** Stateful sessions over any Store: issue, resolve, touch, revoke, list and update data. */
export function createSessionManager(store: Store, policy: SessionPolicy, clock: Clock) {
  const expiresAt = (record: SessionRecord) => sessionExpiresAt(record, policy);
  const isLive = (record: SessionRecord, now: number) => now < expiresAt(record);

  const serializeData = (data: SessionData): SessionData => {
    const size = Buffer.byteLength(JSON.stringify(data));
    if (size > policy.maxDataBytes) throw new SessionDataTooLargeError(size, policy.maxDataBytes);
    return data;
  };

  /** The user's sessions still live by our clock (the store may hold expired leftovers). */
  const listOfUser = async (userId: string) => {
    const now = clock.now();
    return (await store.sessions.listByUser(userId)).filter((record) => isLive(record, now));
  };

  const updatesInFlight = new Map<string, Promise<SessionRecord | null>>();

  const compareAndSetData = async (record: SessionRecord, update: (data: SessionData) => SessionData) => {
    let current: SessionRecord | null = record;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS && current; attempt++) {
      if (attempt > 0) await sleep(Math.random() * Math.min(2 ** attempt, 50));
      const data = serializeData(update(structuredClone(current.data)));
      const result = await store.sessions.updateData(current.idHash, current.version, data);
      if (result === 'updated') return { ...current, data, version: current.version + 1 };
      if (result === 'missing') return null;
      current = await store.sessions.get(current.idHash);
      if (current && !isLive(current, clock.now())) return null;
    }
    if (!current) return null;
    throw new SessionConflictError();
  };

  /** `resolve` for an id already checked and hashed. */
  const resolveHash = async (idHash: string): Promise<SessionRecord | null> => {
    const record = await store.sessions.get(idHash);
    const now = clock.now();
    if (!record || !isLive(record, now)) return null;
    if (now - record.lastSeenAt < policy.touchIntervalMs) return record;
    const touched = { ...record, lastSeenAt: now };
    if (!(await store.sessions.touch(idHash, now, storeTtlMs(touched, policy, now)))) return null;
    return touched;
  };

  return {
    policy,

    /** The user's credential generation, to be read before the user's credentials are (see `create`). */
    generation: (userId: string) => store.sessions.generation(userId),

    /**
     * Starts a session with a fresh id, only if the user's credential `generation` is still the one
     * read before the owner's credentials were checked (else `CredentialsChangedError`; without it,
     * the generation is read now). With `replaces`, the old session is deleted in the same atomic
     * step: a new id on every login defeats fixation. Hybrid sessions carry their first `refresh` state.
     */
    async create(
      owner: SessionOwner,
      client: ClientInfo,
      options: { replaces?: string | undefined; refresh?: RefreshState | undefined; generation?: number | undefined } = {},
    ) {
      const generation = options.generation ?? (await store.sessions.generation(owner.id));
      const now = clock.now();
      const id = generateSessionId(owner.id);
      const record: SessionRecord = {
        idHash: hashSessionId(id),
        userId: owner.id,
        userName: owner.name,
        roles: [...owner.roles],
        createdAt: now,
        lastSeenAt: now,
        absoluteExpiresAt: now + policy.absoluteTimeoutMs,
        userAgent: client.userAgent.slice(0, 512),
        ip: client.ip,
        data: {},
        version: 0,
        ...(options.refresh && { refresh: options.refresh }),
        ...(client.clientId !== undefined && { clientId: client.clientId }),
      };
      if (!(await store.sessions.create(record, storeTtlMs(record, policy, now), { generation, replaces: options.replaces }))) {
        throw new CredentialsChangedError();
      }
      return { id, record };
    },

    /**
     * The same session under a fresh id (after a privilege change), the old id dead in the same
     * atomic step. Data, creation time and the absolute limit carry over: rotating never extends a
     * session. A hybrid session gets a new first refresh handle (`refresh`); the old one dies with the old id.
     * A session revoked meanwhile is not brought back: `AuthenticationRequiredError`.
     */
    async rotate(record: SessionRecord, roles: readonly string[] = record.roles, refresh?: RefreshState) {
      const now = clock.now();
      const id = generateSessionId(record.userId);
      const { refresh: _replaced, ...kept } = record; // the old handle dies with the old id
      const next: SessionRecord = {
        ...kept,
        idHash: hashSessionId(id),
        roles: [...roles],
        lastSeenAt: now,
        version: 0,
        ...(refresh && { refresh }),
      };
      if (!(await store.sessions.create(next, storeTtlMs(next, policy, now), { rotates: record.idHash }))) {
        throw new AuthenticationRequiredError('The session has ended.');
      }
      return { id, record: next };
    },

    /**
     * The live session for a presented id, or null. Ids we could not have issued never reach the
     * store. Activity is written only when the last write is older than `touchIntervalMs`. An
     * ended session's record is left for the store to forget: its tokens may outlive it.
     */
    resolve(presentedId: string): Promise<SessionRecord | null> {
      return isWellFormedSessionId(presentedId) ? resolveHash(hashSessionId(presentedId)) : Promise.resolve(null);
    },

    resolveHash,

    /**
     * Applies `update` to the current data with compare-and-set, so two requests that each add to a
     * cart both land (no last-writer-wins). Updates of one session queue up within this process;
     * across instances a lost compare-and-set rereads and retries after a short random pause.
     */
    updateData(record: SessionRecord, update: (data: SessionData) => SessionData): Promise<SessionRecord | null> {
      const previous = updatesInFlight.get(record.idHash);
      const next = (previous ?? Promise.resolve()).then(
        () => compareAndSetData(record, update),
        () => compareAndSetData(record, update),
      );
      updatesInFlight.set(record.idHash, next);
      const forget = () => {
        if (updatesInFlight.get(record.idHash) === next) updatesInFlight.delete(record.idHash);
      };
      next.then(forget, forget);
      return next;
    },

    /** The session by its public id if still live, without recording activity; null otherwise. */
    async live(idHash: unknown): Promise<SessionRecord | null> {
      if (typeof idHash !== 'string') return null;
      const record = await store.sessions.get(idHash);
      return record && isLive(record, clock.now()) ? record : null;
    },

    revoke: (idHash: string) => store.sessions.delete(idHash),

    /** The record as stored, live or not (null when gone). */
    recordOf: (idHash: string) => store.sessions.get(idHash),

    /** Advances the user's credential generation and deletes every session but `exceptIdHash`; returns the id hashes deleted. */
    endAllOfUser: (userId: string, exceptIdHash?: string) => store.sessions.advanceGeneration(userId, exceptIdHash),

    listOfUser,

    /** Every session record the store holds for the user, ended ones included (their tokens may still be live). */
    recordsOfUser: (userId: string) => store.sessions.listByUser(userId),

    /** The user's live sessions as the device list shows them, `currentIdHash` marked. */
    async devicesOfUser(userId: string, currentIdHash: unknown): Promise<DeviceSession[]> {
      return (await listOfUser(userId)).map((record) => ({
        id: record.idHash,
        createdAt: record.createdAt,
        lastSeenAt: record.lastSeenAt,
        expiresAt: expiresAt(record),
        userAgent: record.userAgent,
        ip: record.ip,
        current: record.idHash === currentIdHash,
        ...(record.clientId !== undefined && { clientId: record.clientId }),
      }));
    },

    expiresAt,
    isLive,
  };
}
