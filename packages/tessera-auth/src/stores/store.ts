import type { RevocationEntry, SessionData } from '../base/types.js';

export type { RevocationEntry, SessionData };

/**
 * The one contract every store implements (memory, SQLite, Redis). The core talks to storage only
 * through it, and `tessera-auth/testing` holds the suites every implementation passes.
 *
 * Units: every timestamp is milliseconds since the epoch, taken from the caller's clock; every
 * `ttlMs` is a relative lifetime in milliseconds. A store may forget a record any time after its
 * `ttlMs` has passed (garbage collection), and must keep it until then: the core keeps a session's
 * record past the session's end for as long as tokens issued from it may still be accepted, so
 * that ending a user's credentials finds it. The core re-checks timestamps itself, so a store's
 * clock never decides whether a session is valid.
 *
 * Atomicity: each method is atomic on its own. In particular
 * - `sessions.create` checks its condition, writes the record and the user index, and removes the
 *   replaced session, all in one step (a rotation never leaves both ids alive, nor neither; a login
 *   checked against credentials that have changed since never creates a session);
 * - `sessions.advanceGeneration` advances the user's credential generation and deletes the user's
 *   sessions in one step: no session created under an older generation survives it, and none can
 *   be created after it under that generation;
 * - `sessions.delete` removes the record and its index entry together;
 * - `sessions.touch` and `sessions.updateData` never resurrect a deleted session;
 * - `sessions.updateData` is a compare-and-set on `version`, `sessions.rotateRefresh` on the
 *   refresh hash (two instances rotating one handle at once: exactly one wins);
 * - `users.create` is an insert-if-absent on the normalised username: of two registrations of one
 *   name, exactly one succeeds;
 * - `counters.add` is an atomic increment whose window starts with the first hit;
 * - `revocations.add` is durable once it resolves.
 *
 * Failure: a store that cannot answer (down, timed out) rejects with `StoreUnavailableError`.
 * It never resolves with "not found" for a record it could not read.
 */
export interface Store {
  readonly sessions: SessionStore;
  readonly revocations: RevocationStore;
  /** Resolves when the store answers; rejects with `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;
  /** Closes the connection if the store opened it (a client passed in stays the caller's). */
  close(): Promise<void>;
}

/**
 * What the identity server needs beyond the library's `Store`: accounts and throttle counters.
 * Tessera's memory, SQLite and Redis stores are both; a store written for the library alone need
 * not be.
 */
export interface ServerStore extends Store {
  readonly users: UserStore;
  readonly counters: CounterStore;
}

/** One session (or, for stateless, one login) as stored. Times are epoch ms. */
export interface SessionRecord {
  /**
   * `hashSessionId(id)`: the owner tag of `userId` (`ownerTag`), then the id's SHA-256, base64url.
   * The id itself is never stored. A sharded store (Redis Cluster) relies on the tag.
   */
  readonly idHash: string;
  readonly userId: string;
  readonly userName?: string | undefined;
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly absoluteExpiresAt: number;
  readonly userAgent: string;
  readonly ip: string;
  readonly data: SessionData;
  /** Incremented by every successful `updateData`. */
  readonly version: number;
  /** Hybrid strategy only: the session's current refresh handle. */
  readonly refresh?: RefreshState | undefined;
  /**
   * The OAuth client the session was granted to (the identity server's authorization flow): its
   * tokens carry it as `client_id`, and only it may renew them. Absent: the first-party
   * application (`tokens.clientId`).
   */
  readonly clientId?: string | undefined;
}

/**
 * A session's refresh handles as stored: hashes only, never a secret, and nothing from which one
 * handle yields another (each handle is drawn at random).
 */
export interface RefreshState {
  /**
   * SHA-256 (base64url) of each live handle, space-separated: the current one, then its
   * predecessor when a retry inside the grace window kept it alive (a lost response, tabs racing).
   */
  readonly hash: string;
  /** Epoch ms of the rotation that made the current handle (or of the login). */
  readonly issuedAt: number;
  /**
   * Fingerprints of the latest former handles, newest first: the first 8 bytes of each one's
   * SHA-256, concatenated, base64url. A former handle presented again is theft.
   */
  readonly spent: string;
  /** The DPoP key thumbprint the handle is bound to (RFC 9449 §5): it renews only with a proof of that key. */
  readonly jkt?: string | undefined;
}

/** `rotated`; `conflict`: the handle was rotated by someone else first; `missing`: the session is gone. */
export type RotateRefreshResult = 'rotated' | 'conflict' | 'missing';

/** `updated`; `conflict`: the version moved (the caller retries with fresh data); `missing`: the session is gone. */
export type UpdateDataResult = 'updated' | 'conflict' | 'missing';

/**
 * When `sessions.create` may write. Each user has a credential generation (0 until first advanced):
 * a login states the generation it read before it read the user's password hash and roles, so a
 * change of credentials made in between (which advances the generation) makes the login fail
 * instead of leaving a session that was authenticated against the old credentials.
 */
export type SessionCreateCondition =
  /** A login: only while the user's generation still equals `generation`; `replaces` is deleted in the same step. */
  | { readonly generation: number; readonly replaces?: string | undefined }
  /** A rotation: only while the session `rotates` still exists (it was not revoked meanwhile); it is deleted in the same step. */
  | { readonly rotates: string };

/** The session records (see `Store` for the guarantees every method keeps). */
export interface SessionStore {
  /**
   * Writes the record and its index entry if `condition` holds (always, without one: imports and
   * tests); `false`, and nothing written or deleted, when it does not.
   */
  create(record: SessionRecord, ttlMs: number, condition?: SessionCreateCondition): Promise<boolean>;
  /** The user's credential generation: 0 until `advanceGeneration` is first called. */
  generation(userId: string): Promise<number>;
  /** The record, or null when absent or past its ttl. */
  get(idHash: string): Promise<SessionRecord | null>;
  /** Records activity and extends the lifetime; `false` (and no write) if the session is gone. */
  touch(idHash: string, lastSeenAt: number, ttlMs: number): Promise<boolean>;
  /**
   * Compare-and-set of the refresh handles: replaces `hash`, `issuedAt` and `spent` only if `hash`
   * still equals `expectedHash`, records activity (`lastSeenAt` = `issuedAt`) and extends the
   * lifetime like `touch`. Never resurrects a deleted session.
   */
  rotateRefresh(
    idHash: string,
    expectedHash: string,
    next: { hash: string; issuedAt: number; spent: string },
    ttlMs: number,
  ): Promise<RotateRefreshResult>;
  /** Replaces `data` only if `version` still equals `expectedVersion`. */
  updateData(idHash: string, expectedVersion: number, data: SessionData): Promise<UpdateDataResult>;
  /** Deletes the record and its index entry; `false` if it was already gone. */
  delete(idHash: string): Promise<boolean>;
  /** Every session of the user the store still holds (expired leftovers may be included; callers filter by time). */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /**
   * Advances the user's credential generation by one and deletes every session of the user but
   * `exceptIdHash`, in one atomic step. Returns the id hashes it deleted (their tokens must be revoked).
   */
  advanceGeneration(userId: string, exceptIdHash?: string): Promise<string[]>;
  /**
   * How many sessions the store holds that have not outlived their ttl: the active-sessions gauge.
   * Not on any request path; Redis answers it with a SCAN over the session keys.
   */
  count(): Promise<number>;
}

/** An account of the identity server; `passwordHash` is an argon2id PHC string. */
export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
}

/** The identity server's accounts. */
export interface UserStore {
  /** Inserts the user unless the username (compared case-insensitively) exists; `false` if it does. */
  create(user: UserRecord): Promise<boolean>;
  /** The user with this id, or null. */
  getById(id: string): Promise<UserRecord | null>;
  /** The user with this name (compared as `normalizeUsername` does), or null. */
  getByUsername(username: string): Promise<UserRecord | null>;
  /** `false` if no such user. */
  update(id: string, changes: { passwordHash?: string; roles?: readonly string[] }): Promise<boolean>;
}

/** A fixed-window counter's value and how long its window still runs. */
export interface CounterState {
  readonly count: number;
  /** Milliseconds until the window ends. */
  readonly resetInMs: number;
}

/** Fixed-window counters for the identity server's throttles, each with its own window. */
export interface CounterStore {
  /** Adds `delta` (may be negative) and returns the new count; the window starts at the first hit. */
  add(key: string, delta: number, windowMs: number): Promise<CounterState>;
  /** The counter as it is, without writing anything; null when it is absent or its window has ended. */
  get(key: string): Promise<CounterState | null>;
  /** Deletes the counter (a successful login clears its failures). */
  reset(key: string): Promise<void>;
}

/**
 * The durable copy of the revocation list, so a restart never resurrects a revoked token. Entries
 * are kept until their `expiresAt` (epoch ms), then may be dropped.
 */
export interface RevocationStore {
  /**
   * Stores the entry durably (and, for a shared store, publishes it on the feed); idempotent. A
   * store with acknowledgements resolves with the entry's position in the feed.
   */
  add(entry: RevocationEntry): Promise<string | void>;
  /** Every entry still in force at `now`. */
  list(now: number): Promise<RevocationEntry[]>;
  /**
   * Shared stores only (Redis, PostgreSQL, SQLite): delivers every entry added from now on, by any
   * instance, at least once, including those added while the connection was down, each with its
   * position in the feed (the same on every instance). `ready` resolves once entries added
   * after the call are certain to be delivered (call `list` after it to cover everything before).
   * Stores that serve one process do not need it: `add` already updated the local list.
   */
  follow?(onEntry: (entry: RevocationEntry, position: string) => void): RevocationFollower;
  /**
   * Acknowledged revocation (shared stores with a feed): where each instance is. Positions are
   * dash-separated non-negative integers, ordered piece by piece (`12`, `1700000000000-3`).
   */
  readonly acknowledgements?: AcknowledgementStore;
}

/**
 * Each instance's heartbeat, stamped with the store's own clock so that instances' clocks never
 * enter the comparison: the position it has applied, and when it last said so.
 */
export interface AcknowledgementStore {
  /** `instance` has applied every entry up to `position`: recorded with the store's current time. */
  acknowledge(instance: string, position: string): Promise<void>;
  /**
   * The instances that acknowledged within the last `withinMs` (store time) and not yet up to
   * `position`. Records silent for an hour are dropped on the way.
   */
  behind(position: string, withinMs: number): Promise<string[]>;
  /** `instance` is leaving: its record is dropped, so no change waits for it. */
  leave(instance: string): Promise<void>;
}

/** A subscription to a shared store's revocation feed (see `RevocationStore.follow`). */
export interface RevocationFollower {
  readonly ready: Promise<void>;
  /**
   * Epoch ms at which the last answered read of the feed (an entry or an empty poll: its heartbeat)
   * was sent: everything added before then has been delivered.
   */
  readonly lastContact: number;
  /** False from a dropped connection until a read from the last seen entry answers again. */
  readonly connected: boolean;
  /**
   * Where in the feed this follower is: the position of the last entry delivered, or of the feed's
   * end when following started. Opaque, and the same for one entry on every instance.
   */
  readonly position: string;
  /** Stops following and closes the feed connection. */
  stop(): void;
}

/** The username form used for uniqueness: case-insensitive, Unicode-normalised. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}
