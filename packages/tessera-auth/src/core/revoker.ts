import type { SessionManager } from '../sessions/session-manager.js';
import type { RefreshState, SessionRecord } from '../stores/store.js';

export type Revoker = ReturnType<typeof createRevoker>;

/** Who hears of each session this instance ends (`sessionEnded`): asked first, since telling costs a store read. */
export interface EndedSessions {
  watching(): boolean;
  tell(record: SessionRecord): void;
}

/**
 * Ends sessions and logins outside of any request (admin actions) and for the request contexts.
 * Where copies exist (tokens, cached sessions), the end is announced first (`announceEnd`: on the
 * revocation list, durably, on every instance), then the record is dropped from the device list,
 * so nothing is ever listed as gone yet still accepted.
 */
export function createRevoker(
  sessions: SessionManager,
  announceEnd: ((idHash: string) => Promise<void>) | undefined,
  maxPerUser: number,
  ended?: EndedSessions,
) {
  const endSession = async (idHash: string): Promise<boolean> => {
    // Read before the end, only when someone listens: the record is gone after it.
    const record = ended?.watching() ? await sessions.recordOf(idHash) : null;
    await announceEnd?.(idHash);
    const deleted = await sessions.revoke(idHash);
    if (deleted && record) ended?.tell(record);
    return deleted;
  };

  return {
    endSession,

    /**
     * The session under a new id (a privilege change): the old id's end is announced first, then
     * the store replaces the record in one step. Announced after, a failed announcement would leave
     * the old tokens accepted with no record left to list them, not even for `revokeUser`.
     */
    async rotateSession(record: SessionRecord, roles: readonly string[], refresh?: RefreshState) {
      await announceEnd?.(record.idHash);
      return sessions.rotate(record, roles, refresh);
    },

    /** Puts a session's end on the revocation list (where copies of it exist) without touching its record. */
    announceEnd,

    /** Ends session `id` if it is one of the user's own: a device list only reaches its owner's sessions. */
    async endOwnSession(userId: string, id: string): Promise<boolean> {
      const owned = (await sessions.listOfUser(userId)).some((record) => record.idHash === id);
      return owned && (await endSession(id));
    },

    /** Ends the user's oldest live sessions past `maxPerUser`, so no one account can grow the store without end. */
    async capSessions(userId: string): Promise<number> {
      const live = await sessions.listOfUser(userId);
      if (live.length <= maxPerUser) return 0;
      const oldest = live.sort((a, b) => a.createdAt - b.createdAt).slice(0, live.length - maxPerUser);
      await Promise.all(oldest.map((record) => endSession(record.idHash)));
      return oldest.length;
    },

    /**
     * Ends every session or login of the user (but `except`) and advances the user's credential
     * generation, so a login checked against the old credentials can no longer create a session.
     * Returns how many sessions were ended.
     *
     * Why this is exact, in any interleaving: advancing the generation and deleting the sessions is
     * one atomic step in the store, and it returns every session it deleted, ended ones whose
     * tokens may still be accepted included (records are kept that long). A session created before
     * it is among them; one created after it was checked against the new generation. Every token
     * carries its session's id, so revoking those ids revokes every token, by no clock.
     */
    async revokeUser(userId: string, options: { except?: string } = {}): Promise<number> {
      // Revoked before the atomic step too, so a crash between the two steps leaves at most the
      // logins in flight alive, and only until a retry of the change.
      const listing = announceEnd !== undefined || ended?.watching() === true;
      const records = new Map(listing ? (await sessions.recordsOfUser(userId)).map((record) => [record.idHash, record]) : []);
      records.delete(options.except ?? '');
      if (announceEnd) await Promise.all([...records.keys()].map(announceEnd));
      const deleted = await sessions.endAllOfUser(userId, options.except);
      if (announceEnd) await Promise.all(deleted.filter((idHash) => !records.has(idHash)).map(announceEnd));
      // A session created between the listing and the atomic step ended unlisted: its client is not told.
      for (const idHash of deleted) if (records.has(idHash)) ended?.tell(records.get(idHash)!);
      return deleted.length;
    },
  };
}
