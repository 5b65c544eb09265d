import type { EventEmitter } from 'node:events';
import { createRefreshRotation, refreshHandle, type RefreshProof } from '../sessions/refresh-rotation.js';
import type { SessionManager } from '../sessions/session-manager.js';
import type { SessionRecord, Store } from '../stores/store.js';
import type { Clock } from '../base/clock.js';
import { RefreshTokenReusedError } from '../base/errors.js';
import type { Revoker } from './revoker.js';
import {
  assertSameUser,
  identityOfRecord,
  liveRecord,
  sessionInfo,
  updateRecordData,
  type Issued,
  type TokenStrategy,
} from './strategy.js';
import type { TokenRuntime } from './token-runtime.js';

/** Emitted as `refreshReused` when a former refresh handle comes back after the grace window. */
export interface RefreshReusedEvent {
  /** The public id of the session that was revoked. */
  readonly sessionId: string;
  readonly userId: string;
  /** Epoch ms of the detection. */
  readonly at: number;
}

/** Emitted as `sessionEnded` when this instance ends a session or login (listeners make each end cost one store read). */
export interface SessionEndedEvent {
  /** The public id of the session (the `sid` of its tokens). */
  readonly sessionId: string;
  readonly userId: string;
  /** The OAuth client the session was granted to, if any (see `SessionRecord.clientId`). */
  readonly clientId?: string | undefined;
}

/** The events of `auth.events`. */
export interface AuthEvents {
  /** A rotated refresh handle came back after the grace window: its session has been revoked. */
  refreshReused: [event: RefreshReusedEvent];
  /**
   * This instance ended a session or login, for any reason (logout, logout everywhere, a revoked
   * device, a credential change, a reused refresh handle, the per-user cap): after the end is on
   * the revocation list and the record is gone. Other instances' ends are theirs to tell.
   */
  sessionEnded: [event: SessionEndedEvent];
}

/** The hybrid strategy: a token strategy whose logins are sessions holding a refresh family. */
export interface HybridStrategy extends TokenStrategy {
  /**
   * Trades a refresh handle for a new access token and the next handle. A former handle presented
   * after the grace window revokes the whole session, emits `refreshReused` and throws. A handle
   * bound to a DPoP key renews only with `proof.jkt` that key; an unbound one only if `proof.unboundAllowed`.
   */
  refresh(handle: string, proof?: RefreshProof): Promise<Issued>;
  /** The live session whose current refresh handle is `handle` (introspection, RFC 7009 revocation). */
  sessionOfHandle(handle: string): Promise<SessionRecord | null>;
}

/**
 * The hybrid strategy: a stateful session is the refresh family, short-lived access tokens carry
 * its id as `sid`. Ending the session puts that `sid` on the revocation list, so its access tokens
 * die at once on every instance rather than at their expiry.
 */
export function createHybridStrategy(deps: {
  store: Store;
  sessions: SessionManager;
  tokens: TokenRuntime;
  revoker: Revoker;
  clock: Clock;
  graceMs: number;
  events: EventEmitter<AuthEvents>;
}): HybridStrategy {
  const { sessions, tokens, revoker, clock } = deps;
  const rotation = createRefreshRotation(deps.store, sessions.policy, clock, { graceMs: deps.graceMs });

  // Access tokens are bound to the key the refresh handle is bound to, if any.
  const issued = (record: SessionRecord, refreshToken: string, identity = identityOfRecord(record)): Issued => ({
    record,
    refreshToken,
    accessToken: tokens.issue(identity, record.idHash, sessions.expiresAt(record), record.refresh?.jkt, record.clientId),
    session: sessionInfo(sessions, record),
    jkt: record.refresh?.jkt,
  });

  return {
    // A new session with its first refresh handle, only under the user's credential generation.
    async login(identity, client, options) {
      if (options.previous !== undefined) await revoker.endSession(options.previous);
      const { secret, state } = rotation.issue(options.jkt);
      const { record } = await sessions.create(identity, client, { refresh: state, generation: options.generation });
      await revoker.capSessions(identity.id);
      return issued(record, refreshHandle(record.idHash, secret), identity);
    },

    // The same session under a new id and a new first handle (a privilege change); the old id is revoked.
    async rotate(claims, identity) {
      const record = await liveRecord(sessions, claims.sid);
      assertSameUser(record.userId, identity);
      const { secret, state } = rotation.issue(record.refresh?.jkt);
      // The old session's access tokens carry the old roles: they die with it.
      const next = await revoker.rotateSession(record, identity?.roles ?? record.roles, state);
      return issued(next.record, refreshHandle(next.record.idHash, secret));
    },

    // Session data lives in the session record; unlike authentication, this reads the store.
    async updateData(claims, update) {
      return (await updateRecordData(sessions, await liveRecord(sessions, claims.sid), update)).data;
    },

    async refresh(handle, proof) {
      const outcome = await rotation.refresh(handle, proof);
      if (outcome.kind === 'reused') {
        await revoker.endSession(outcome.record.idHash);
        deps.events.emit('refreshReused', { sessionId: outcome.record.idHash, userId: outcome.record.userId, at: clock.now() });
        throw new RefreshTokenReusedError();
      }
      return issued(outcome.record, outcome.handle);
    },

    sessionOfHandle: (handle) => rotation.current(handle),
  };
}
