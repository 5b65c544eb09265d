import type { Identity, SessionData } from '../base/types.js';
import type { ClientInfo, SessionManager } from '../sessions/session-manager.js';
import type { SessionRecord } from '../stores/store.js';
import type { Revoker } from './revoker.js';
import { assertSameUser, sessionInfo, updateRecordData, type Issued } from './strategy.js';

export type StatefulStrategy = ReturnType<typeof createStatefulStrategy>;

/** The stateful strategy: the session record is the credential, resolved from the store on every request. */
export function createStatefulStrategy(sessions: SessionManager, revoker: Revoker) {
  const issued = ({ id, record }: { id: string; record: SessionRecord }): Issued => ({
    record,
    sessionId: id,
    session: sessionInfo(sessions, record),
  });

  return {
    /** A new session under a fresh id; the request's own session (`replaces`) dies in the same atomic step. */
    async login(
      identity: Identity,
      client: ClientInfo,
      options: { replaces?: string | undefined; generation?: number | undefined },
    ): Promise<Issued> {
      const started = await sessions.create(identity, client, options);
      await revoker.capSessions(identity.id);
      return issued(started);
    },

    async rotate(current: SessionRecord, identity: Identity | undefined): Promise<Issued> {
      assertSameUser(current.userId, identity);
      return issued(await sessions.rotate(current, identity?.roles));
    },

    updateData: (current: SessionRecord, update: (data: SessionData) => SessionData): Promise<SessionRecord> =>
      updateRecordData(sessions, current, update),
  };
}
