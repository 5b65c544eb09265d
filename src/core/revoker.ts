import type { SessionManager } from '../sessions/session-manager.js';
import type { Clock } from './clock.js';
import type { TokenRuntime } from './token-runtime.js';

export type Revoker = ReturnType<typeof createRevoker>;

/**
 * Ends sessions and logins outside of any request (admin actions) and for the request contexts.
 * With tokens, a login's tokens go on the revocation list (durably, on every instance) before its
 * record is dropped from the device list, so nothing is ever listed as gone yet still accepted.
 */
export function createRevoker(sessions: SessionManager, tokens: TokenRuntime | undefined, clock: Clock) {
  // Every token of a login issued so far expires within one token lifetime from now.
  const tokenHorizon = () => clock.now() + (tokens?.ttlSeconds ?? 0) * 1000;

  const endSession = async (idHash: string): Promise<boolean> => {
    await tokens?.revoke({ kind: 'sid', value: idHash, expiresAt: tokenHorizon() });
    return sessions.revoke(idHash);
  };

  return {
    endSession,

    /** Ends every session or login of the user (but `except`); returns how many were ended. */
    async revokeUser(userId: string, options: { except?: string } = {}): Promise<number> {
      if (!tokens) return sessions.revokeAllOfUser(userId, options.except);
      let ended = 0;
      for (const login of await sessions.listOfUser(userId)) {
        if (login.idHash === options.except) continue;
        await endSession(login.idHash);
        ended++;
      }
      if (options.except === undefined) {
        // A safety net for tokens whose login record is gone: everything issued before this second
        // (tokens of this very second are covered by their login's entry above).
        const now = clock.now();
        await tokens.revoke({ kind: 'sub', value: userId, revokedBefore: Math.floor(now / 1000) * 1000, expiresAt: tokenHorizon() });
      }
      return ended;
    },
  };
}
