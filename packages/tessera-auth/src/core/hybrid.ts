import type { EventEmitter } from 'node:events';
import { createRefreshRotation, refreshHandle } from '../sessions/refresh-rotation.js';
import type { ClientInfo, SessionManager } from '../sessions/session-manager.js';
import type { SessionRecord, Store } from '../stores/store.js';
import type { Clock } from '../base/clock.js';
import { RefreshTokenReusedError } from '../base/errors.js';
import type { TokenRuntime } from './token-runtime.js';
import type { Identity } from '../base/types.js';

export interface RefreshReusedEvent {
  /** The public id of the session that was revoked. */
  readonly sessionId: string;
  readonly userId: string;
  /** Epoch ms of the detection. */
  readonly at: number;
}

export interface AuthEvents {
  /** A rotated refresh handle came back after the grace window: its session has been revoked. */
  refreshReused: [event: RefreshReusedEvent];
}

/** A session of the hybrid strategy with the credentials that go with it. */
export interface HybridCredentials {
  readonly record: SessionRecord;
  /** The refresh handle: `<session id>.<secret>`, to hand to the client once and never store. */
  readonly refreshToken: string;
  readonly accessToken: { readonly token: string; readonly expiresAt: number; readonly expiresIn: number };
}

export type HybridRuntime = ReturnType<typeof createHybridRuntime>;

const identityOf = (record: SessionRecord): Identity => ({ id: record.userId, name: record.userName, roles: record.roles });

/**
 * The hybrid strategy: a stateful session is the refresh family, short-lived access tokens carry
 * its id as `sid`. Ending the session puts that `sid` on the revocation list, so its access tokens
 * die at once on every instance rather than at their expiry.
 */
export function createHybridRuntime(deps: {
  store: Store;
  sessions: SessionManager;
  tokens: TokenRuntime;
  clock: Clock;
  graceMs: number;
  endSession: (idHash: string) => Promise<boolean>;
  capSessions: (userId: string) => Promise<number>;
  events: EventEmitter<AuthEvents>;
}) {
  const { sessions, tokens, clock } = deps;
  const rotation = createRefreshRotation(deps.store, sessions.policy, clock, { graceMs: deps.graceMs });

  const credentials = (record: SessionRecord, refreshToken: string, identity = identityOf(record)): HybridCredentials => {
    const issued = tokens.issue(identity, record.idHash, sessions.expiresAt(record));
    return { record, refreshToken, accessToken: { token: issued.token, expiresAt: issued.expiresAt, expiresIn: issued.expiresIn } };
  };

  return {
    rotation,

    /**
     * Login: a new session with its first refresh handle, only under the user's credential
     * `generation` (see `SessionManager.create`).
     */
    async start(identity: Identity, client: ClientInfo, options: { generation?: number | undefined } = {}): Promise<HybridCredentials> {
      const { secret, state } = rotation.issue();
      const { record } = await sessions.create(identity, client, { refresh: state, generation: options.generation });
      await deps.capSessions(identity.id);
      return credentials(record, refreshHandle(record.idHash, secret), identity);
    },

    /** The same session under a new id and a new first handle (a privilege change); the old id is revoked. */
    async renew(record: SessionRecord, roles: readonly string[]): Promise<HybridCredentials> {
      const { secret, state } = rotation.issue();
      const next = await sessions.rotate(record, roles, state);
      // The old session's access tokens carry the old roles: they die with it.
      await deps.endSession(record.idHash);
      return credentials(next.record, refreshHandle(next.record.idHash, secret));
    },

    /**
     * Trades a refresh handle for a new access token and the next handle. A former handle presented
     * after the grace window revokes the whole session, emits `refreshReused` and throws.
     */
    async refresh(handle: string): Promise<HybridCredentials> {
      const outcome = await rotation.refresh(handle);
      if (outcome.kind === 'reused') {
        await deps.endSession(outcome.record.idHash);
        deps.events.emit('refreshReused', { sessionId: outcome.record.idHash, userId: outcome.record.userId, at: clock.now() });
        throw new RefreshTokenReusedError();
      }
      return credentials(outcome.record, outcome.handle);
    },
  };
}
