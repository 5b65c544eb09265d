import type { Auth } from './create-auth.js';
import { internalsOf } from './internals.js';
import { TokenError } from '../base/errors.js';
import { type TokenClaims } from '../tokens/verify.js';

/** RFC 7662 introspection and RFC 7009 revocation, for the identity server's `/oauth/*` routes. */
export interface Introspector {
  /** Whether `token` (an access token or a refresh handle) is live, with its claims when it is. */
  introspect(token: string): Promise<Introspection>;
  /**
   * RFC 7009: an access token is revoked by its `jti`; a refresh handle ends its whole session,
   * access tokens included. Anything else (unknown, expired, already spent) is silently ignored.
   */
  revoke(token: string): Promise<void>;
}

/** RFC 7662 §2.2: for a dead token, `active: false` and nothing else. */
export type Introspection = { readonly active: false } | ({ readonly active: true } & Readonly<Record<string, unknown>>);

const INACTIVE: Introspection = Object.freeze({ active: false });
const looksLikeJws = (token: string) => token.split('.').length === 3;

/**
 * The central server's view of a token ("a central server that decrypts the token"): signature,
 * revocation list, and the session behind it, read from the store. Stricter than a resource
 * service's own check, since the session record is the last word.
 */
export function createIntrospection(auth: Auth): Introspector {
  const { tokens, sessions, hybrid } = internalsOf(auth);
  const verifiedClaims = (token: string): TokenClaims | null => {
    if (!tokens) return null;
    try {
      return tokens.verified(token, tokens.verifyAnyAudience);
    } catch (error) {
      // A stale copy cannot vouch for anything (503); a revoked or invalid token is merely inactive.
      if (error instanceof TokenError) return null;
      throw error;
    }
  };

  return {
    async introspect(token: string): Promise<Introspection> {
      if (looksLikeJws(token)) {
        await tokens?.ensureLoaded();
        const claims = verifiedClaims(token);
        if (!claims) return INACTIVE;
        // A client's own token (client credentials) stands for no session; every other one dies with its session.
        const clientsOwn = claims.sid === undefined && claims.sub === claims.client_id;
        if (!clientsOwn && !(await sessions.live(claims.sid))) return INACTIVE;
        const { iss, sub, aud, exp, iat, jti, sid, scope, roles, name, client_id, cnf } = claims;
        // RFC 9449 §6.2: a bound token says so, and names its key.
        return {
          active: true,
          token_type: cnf === undefined ? 'Bearer' : 'DPoP',
          ...(cnf !== undefined && { cnf }),
          client_id,
          iss,
          sub,
          aud,
          exp,
          iat,
          jti,
          sid,
          roles,
          ...(typeof name === 'string' && { username: name }),
          ...(typeof scope === 'string' && { scope }),
        };
      }
      const record = await hybrid?.sessionOfHandle(token);
      if (!record) return INACTIVE;
      // RFC 7662's token_type names an access token type (RFC 6749 §5.1): a refresh handle has none.
      return {
        active: true,
        client_id: record.clientId ?? tokens?.clientId,
        iss: tokens?.issuer,
        sub: record.userId,
        ...(record.userName !== undefined && { username: record.userName }),
        sid: record.idHash,
        iat: Math.floor(record.refresh!.issuedAt / 1000),
        exp: Math.floor(sessions.expiresAt(record) / 1000),
        ...(record.refresh!.jkt !== undefined && { cnf: { jkt: record.refresh!.jkt } }),
      };
    },

    async revoke(token: string): Promise<void> {
      if (looksLikeJws(token)) {
        await tokens?.ensureLoaded();
        const claims = verifiedClaims(token);
        if (claims?.jti) await tokens?.revokeToken({ jti: claims.jti, exp: claims.exp });
        return;
      }
      const record = await hybrid?.sessionOfHandle(token);
      if (record) await auth.endSession(record.idHash);
    },
  };
}
