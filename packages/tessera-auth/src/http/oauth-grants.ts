import type { Auth } from '../core/create-auth.js';
import { internalsOf } from '../core/internals.js';
import { identityOfRecord, type Issued } from '../core/strategy.js';
import { DpopProofError, NotImplementedError, TokenError } from '../base/errors.js';
import type { Identity, LoginResult } from '../base/types.js';
import type { DpopProof } from '../tokens/dpop.js';
import { createStatelessStrategy } from '../core/stateless.js';
import { hashSessionId, isWellFormedSessionId } from '../sessions/session-id.js';
import { readCookie } from './cookies.js';
import { refreshProof } from './refresh.js';
import type { RequestFacts, ResponseSink } from './request.js';
import type { SessionRecord } from '../stores/store.js';

/** A session granted to an OAuth client: what a token endpoint hands over. */
export interface GrantOptions {
  /** The OAuth client the session is granted to: its tokens carry it as `client_id`, and only it renews them. */
  readonly clientId: string;
  /** What the user's device list shows for the session (the client's name). */
  readonly label: string;
  /** The address the grant was asked from. */
  readonly ip: string;
  /** The user's credential generation when the user authorized (see `LoginOptions.generation`). */
  readonly generation?: number | undefined;
  /** The request's DPoP proof (`OAuthGrants.proof`): with DPoP on, the tokens and refresh handle are bound to its key. */
  readonly proof?: DpopProof | undefined;
}

/** How a refresh at the token endpoint proves itself (see `GrantOptions`). */
export interface GrantRefreshOptions {
  readonly clientId: string;
  /** The request's DPoP proof (`OAuthGrants.proof`): a bound handle renews only with a proof of its key. */
  readonly proof?: DpopProof | undefined;
}

/** A browser's own session, as its cookies show it: who, which session, and when they signed in. */
export interface BrowserSession {
  readonly identity: Identity;
  /** The session's public id. */
  readonly sessionId: string;
  /** Epoch ms of the sign-in that began the session. */
  readonly authTime: number;
}

/**
 * The identity server's OAuth authorization flow, over any strategy with tokens: each authorization
 * becomes a session of its own (a login, for stateful and stateless), granted to the client, listed
 * among the user's devices and ended by every revocation path like any other.
 */
export interface OAuthGrants {
  /** A new session granted to `clientId`: an access token, and in hybrid a refresh handle. */
  grant(identity: Identity, options: GrantOptions): Promise<LoginResult>;
  /**
   * The request's DPoP proof for the token endpoint (RFC 9449 §5), checked for its method and URL
   * (a `DPoP-Nonce` is set on `response` when the nonce moves on): undefined without one. With DPoP
   * required, a request without one is refused; with DPoP off, a proof that does not hold is ignored.
   * Throws `DpopProofError`, or `UseDpopNonceError` when the proof lacks the current nonce.
   */
  proof(request: RequestFacts, response: ResponseSink): DpopProof | undefined;
  /** Hybrid: renews a handle granted to `options.clientId` (rotation, reuse detection, DPoP binding as `/auth/refresh`). */
  refresh(handle: string, options: GrantRefreshOptions): Promise<LoginResult>;
  /**
   * The first-party session a browser's cookies carry (stateful: the session cookie; hybrid: the
   * refresh cookie; stateless: the token cookie of `tokens.cookie`), read without renewing or
   * recording anything; null without one.
   */
  browserSession(cookieHeader: string | undefined): Promise<BrowserSession | null>;
  /** A live first-party session by its public id (a request's `session.id`), read from the store; null otherwise. */
  session(sessionId: string): Promise<BrowserSession | null>;
  /** The public ids of the user's live sessions granted to `clientId`, created at or after `since` (epoch ms). */
  grantedSessions(userId: string, clientId: string, since: number): Promise<string[]>;
}

const answer = (issued: Issued): LoginResult => {
  const { accessToken, refreshToken } = issued;
  if (!accessToken) throw new TypeError('A grant issues an access token.');
  return {
    session: issued.session,
    accessToken: { token: accessToken.token, type: issued.jkt === undefined ? 'Bearer' : 'DPoP', expiresIn: accessToken.expiresIn },
    ...(refreshToken !== undefined && { refreshToken }),
  };
};

/**
 * The OAuth grants of an Auth with tokens. A stateful Auth grants logins of their own, as the
 * stateless strategy does (an access token, no refresh handle), which live by its session policy.
 */
export function createOAuthGrants(auth: Auth): OAuthGrants {
  const { tokenStrategy, hybrid, tokens, sessions, revoker } = internalsOf(auth);
  if (!tokens) throw new NotImplementedError('OAuth grants issue tokens: configure tokens (keys and an issuer).');
  const granting = tokenStrategy ?? createStatelessStrategy(sessions, tokens, revoker);
  const firstParty = (record: SessionRecord | null): BrowserSession | null =>
    record && record.clientId === undefined
      ? { identity: identityOfRecord(record), sessionId: record.idHash, authTime: record.createdAt }
      : null;

  return {
    proof(request, response) {
      const dpop = tokens.dpopSettings;
      const proof = refreshProof(dpop, request, response);
      if (proof === undefined && dpop.mode === 'required') throw new DpopProofError('this server issues DPoP-bound tokens only');
      return proof;
    },

    async grant(identity, options) {
      const client = { userAgent: options.label, ip: options.ip, clientId: options.clientId };
      // With DPoP off a proof binds nothing: the client gets the bearer tokens it would get without one.
      const jkt = tokens.dpopSettings.mode === 'off' ? undefined : options.proof?.jkt;
      return answer(await granting.login(identity, client, { generation: options.generation, jkt }));
    },

    async refresh(handle, options) {
      if (!hybrid) throw new NotImplementedError('Refresh handles belong to the hybrid strategy.');
      const { proof, clientId } = options;
      const unboundAllowed = tokens.dpopSettings.mode !== 'required';
      return answer(await hybrid.refresh(handle, { clientId, jkt: proof?.jkt, proofIssuedAt: proof?.issuedAt, unboundAllowed }));
    },

    async browserSession(cookieHeader) {
      if (auth.strategy === 'stateful') {
        const id = readCookie(cookieHeader, auth.cookie.name);
        return id !== undefined && isWellFormedSessionId(id) ? firstParty(await sessions.live(hashSessionId(id))) : null;
      }
      if (hybrid) {
        const handle = readCookie(cookieHeader, auth.refreshCookie.name);
        return handle === undefined ? null : firstParty(await hybrid.sessionOfHandle(handle));
      }
      const token = tokens.cookie ? readCookie(cookieHeader, auth.cookie.name) : undefined;
      if (token === undefined) return null;
      await tokens.ensureLoaded();
      try {
        return firstParty(await sessions.live(tokens.verified(token, tokens.verify).sid));
      } catch (error) {
        if (error instanceof TokenError) return null; // expired, revoked: no session to speak of
        throw error;
      }
    },

    session: async (sessionId) => firstParty(await sessions.live(sessionId)),

    async grantedSessions(userId, clientId, since) {
      const records = await sessions.listOfUser(userId);
      return records.filter((record) => record.clientId === clientId && record.createdAt >= since).map((record) => record.idHash);
    },
  };
}
