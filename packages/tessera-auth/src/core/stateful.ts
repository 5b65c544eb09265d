import type { Clock } from '../base/clock.js';
import type { Identity, SessionData } from '../base/types.js';
import type { RevocationMirror } from '../revocation/revocation-mirror.js';
import { createSessionCache } from '../sessions/session-cache.js';
import { hashSessionId, isWellFormedSessionId } from '../sessions/session-id.js';
import type { ClientInfo, SessionManager } from '../sessions/session-manager.js';
import type { SessionRecord } from '../stores/store.js';
import type { Revoker } from './revoker.js';
import { assertSameUser, sessionInfo, updateRecordData, type Issued } from './strategy.js';

export type StatefulStrategy = ReturnType<typeof createStatefulStrategy>;

interface StatefulDeps {
  readonly sessions: SessionManager;
  readonly revoker: Revoker;
  readonly clock: Clock;
  /** The cached mode: each instance keeps the sessions it resolved, and the feed tells it of every end. */
  readonly cache?: { readonly maxEntries: number; readonly revocations: RevocationMirror };
}

/**
 * The stateful strategy: the session record is the credential. Strict mode reads it from the store
 * on every request; cached mode serves it from this instance's copy while that copy is provably
 * current, and from the store otherwise.
 */
export function createStatefulStrategy({ sessions, revoker, clock, cache }: StatefulDeps) {
  const issued = ({ id, record }: { id: string; record: SessionRecord }): Issued => ({
    record,
    sessionId: id,
    session: sessionInfo(sessions, record),
  });
  const copies = cache && createSessionCache(cache.maxEntries);
  const revocations = cache?.revocations;
  // Every end heard from the feed frees its copy; correctness rests on the list check below.
  revocations?.events.on('revocation', (entry) => entry.kind === 'sid' && copies?.delete(entry.value));

  /**
   * A copy may be served only while nothing can have changed it unseen: its end would be on the
   * list (and the list is current), its activity is within the touch interval (every copy is
   * refreshed from the store at its next touch), and it is at least the version the client
   * last wrote (read-your-writes across instances).
   */
  const servable = (copy: SessionRecord, idHash: string, minVersion: number, now: number): boolean =>
    copy.version >= minVersion &&
    now - copy.lastSeenAt < sessions.policy.touchIntervalMs &&
    sessions.isLive(copy, now) &&
    !revocations!.isStale() &&
    !revocations!.isRevoked({ sid: idHash });

  const remember = (record: SessionRecord): SessionRecord => {
    copies?.set(record);
    return record;
  };

  return {
    /** Whether sessions are served from each instance's copy (the cookie then carries a data version). */
    cached: copies !== undefined,

    /**
     * The live session for a presented id, or null. `minVersion` is the data version the client
     * last saw written (cached mode): an older copy is not served.
     */
    async resolve(presentedId: string, minVersion = 0): Promise<SessionRecord | null> {
      if (!copies || !revocations) return sessions.resolve(presentedId);
      if (!isWellFormedSessionId(presentedId)) return null;
      if (!revocations.loaded) await revocations.ensureLoaded();
      const idHash = hashSessionId(presentedId);
      const copy = copies.get(idHash);
      if (copy && servable(copy, idHash, minVersion, clock.now())) return copy;
      const record = await sessions.resolveHash(idHash);
      if (!record) {
        copies.delete(idHash);
        return null;
      }
      return remember(record);
    },

    /** A new session under a fresh id; the request's own session (`replaces`) dies in the same atomic step. */
    async login(
      identity: Identity,
      client: ClientInfo,
      options: { replaces?: string | undefined; generation?: number | undefined },
    ): Promise<Issued> {
      // Copies of the replaced session (cached mode) and its service tokens die before it does.
      if (options.replaces !== undefined) await revoker.announceEnd?.(options.replaces);
      const started = await sessions.create(identity, client, options);
      await revoker.capSessions(identity.id);
      return issued({ id: started.id, record: remember(started.record) });
    },

    async rotate(current: SessionRecord, identity: Identity | undefined): Promise<Issued> {
      assertSameUser(current.userId, identity);
      const next = await revoker.rotateSession(current, identity?.roles ?? current.roles);
      return issued({ id: next.id, record: remember(next.record) });
    },

    async updateData(current: SessionRecord, update: (data: SessionData) => SessionData): Promise<SessionRecord> {
      return remember(await updateRecordData(sessions, current, update));
    },
  };
}
