import { NotImplementedError } from '../base/errors.js';
import type { Identity } from '../base/types.js';
import type { ClientInfo, SessionManager } from '../sessions/session-manager.js';
import type { SessionRecord } from '../stores/store.js';
import type { Revoker } from './revoker.js';
import { boundKeyOf } from '../tokens/dpop.js';
import { assertSameUser, identityOfClaims, liveRecord, type Issued, type TokenLoginOptions, type TokenStrategy } from './strategy.js';
import type { TokenRuntime } from './token-runtime.js';

/**
 * The stateless strategy: the access token is the credential; a login record stands behind each
 * one only for the device list and revocation by `sid`, and lives as long as its token.
 */
export function createStatelessStrategy(sessions: SessionManager, tokens: TokenRuntime, revoker: Revoker): TokenStrategy {
  const issue = (identity: Identity, record: SessionRecord, jkt: string | undefined): Issued => {
    const accessToken = tokens.issue(identity, record.idHash, sessions.expiresAt(record), jkt, record.clientId);
    const session = { id: record.idHash, createdAt: record.createdAt, expiresAt: accessToken.expiresAt, data: {} };
    return { record, accessToken, session, jkt };
  };

  return {
    async login(identity: Identity, client: ClientInfo, options: TokenLoginOptions) {
      if (options.previous !== undefined) await revoker.endSession(options.previous);
      const { record } = await sessions.create(identity, client, { generation: options.generation });
      await revoker.capSessions(identity.id);
      return issue(identity, record, options.jkt);
    },

    async rotate(claims, identity) {
      assertSameUser(claims.sub, identity);
      if (claims.jti) await tokens.revokeToken({ jti: claims.jti, exp: claims.exp });
      // The record is read last, so the new token is issued in the same tick as the store's answer
      // that the login is still live: an end of the login after that answer revokes it too.
      return issue(identity ?? identityOfClaims(claims), await liveRecord(sessions, claims.sid), boundKeyOf(claims));
    },

    async updateData() {
      throw new NotImplementedError('The stateless strategy keeps no session data on the server; use stateful or hybrid.');
    },
  };
}
