import type { Auth } from '../core/create-auth.js';
import { AuthenticationRequiredError, CsrfError, NotImplementedError, StoreUnavailableError, TokenInvalidError, TokenRevokedError } from '../core/errors.js';
import type { TokenRuntime } from '../core/token-runtime.js';
import type { AuthContext, DeviceSession, Identity, LoginResult, SessionInfo } from '../core/types.js';
import type { SessionRecord } from '../stores/store.js';
import type { TokenClaims } from '../tokens/verify.js';
import { BearerContext, readBearerToken } from './bearer.js';
import { clearedSessionCookie, readCookie, sessionCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import type { RequestFacts, ResponseSink } from './request.js';

/**
 * Builds `req.auth` for the stateless strategy: the bearer token is verified with the key ring
 * and checked against the in-memory revocation list. The request path touches no store, and once
 * the persisted revocations are loaded it is synchronous: no promise per request.
 */
export function createStatelessContext(auth: Auth, tokens: TokenRuntime, request: RequestFacts, response: ResponseSink): AuthContext | Promise<AuthContext> {
  if (!tokens.loaded) return tokens.ensureLoaded().then(() => statelessContext(auth, tokens, request, response));
  return statelessContext(auth, tokens, request, response);
}

function statelessContext(auth: Auth, tokens: TokenRuntime, request: RequestFacts, response: ResponseSink): AuthContext {
  let token = readBearerToken(request.header('authorization'));
  let fromCookie = false;
  if (token === undefined && tokens.cookie) {
    token = readCookie(request.header('cookie'), auth.cookie.name);
    fromCookie = token !== undefined;
    // A cookie rides along on cross-site requests: the same guard as for session cookies.
    if (fromCookie && !isCsrfSafe(request, auth.trustedOrigins)) throw new CsrfError();
  }
  if (token === undefined) return new StatelessContext(auth, tokens, request, response, null, false);
  if (token === null) throw new TokenInvalidError('malformed Authorization header');
  const claims = tokens.verify(token);
  // A copy that may be missing revocations is not trusted: fail closed, never accept blindly.
  if (tokens.isStale()) throw new StoreUnavailableError();
  // After verification, never instead of it: a cached token is checked here like any other.
  if (tokens.revocations.isRevoked(claims, undefined)) throw new TokenRevokedError();
  return new StatelessContext(auth, tokens, request, response, claims, fromCookie);
}

class StatelessContext extends BearerContext implements AuthContext {
  override readonly scheme: 'cookie' | 'bearer';

  constructor(
    private readonly auth: Auth,
    private readonly tokens: TokenRuntime,
    private readonly request: RequestFacts,
    private readonly response: ResponseSink,
    claims: TokenClaims | null,
    fromCookie: boolean,
  ) {
    super(claims);
    this.scheme = fromCookie ? 'cookie' : 'bearer';
  }

  override async login(identity: Identity): Promise<LoginResult> {
    // With the token in a cookie, login is guarded like a session login (login CSRF).
    if (this.tokens.cookie && !isCsrfSafe(this.request, this.auth.trustedOrigins)) throw new CsrfError();
    const client = { userAgent: this.request.header('user-agent') ?? '', ip: this.request.ip };
    const { record } = await this.auth.sessions.create(identity, client);
    return this.issue(identity, record);
  }

  override async logout(): Promise<void> {
    if (this.scheme === 'cookie') this.response.appendSetCookie(clearedSessionCookie(this.auth.cookie));
    const sid = this.claims?.sid;
    if (typeof sid === 'string') await this.auth.endSession(sid);
  }

  override logoutAll(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const claims = this.current();
    return this.auth.revokeUser(claims.sub, options.keepCurrent && typeof claims.sid === 'string' ? { except: claims.sid } : {});
  }

  override async rotate(identity?: Identity): Promise<LoginResult> {
    const claims = this.current();
    if (identity && identity.id !== claims.sub) throw new AuthenticationRequiredError('rotate() keeps the user; use login() to switch users.');
    const record = typeof claims.sid === 'string' ? await this.auth.store.sessions.get(claims.sid) : null;
    if (!record) throw new AuthenticationRequiredError('The login has ended.');
    if (claims.jti) await this.tokens.revoke({ kind: 'jti', value: claims.jti, expiresAt: claims.exp * 1000 });
    return this.issue(identity ?? (this.user as Identity), record);
  }

  override async listSessions(): Promise<DeviceSession[]> {
    const claims = this.current();
    return this.auth.sessions.devicesOfUser(claims.sub, claims.sid);
  }

  override async revokeSession(id: string): Promise<boolean> {
    const claims = this.current();
    const owned = (await this.auth.sessions.listOfUser(claims.sub)).some((login) => login.idHash === id);
    return owned && (await this.auth.endSession(id));
  }

  override async updateData(): Promise<never> {
    throw new NotImplementedError('The stateless strategy keeps no session data on the server; use stateful or hybrid.');
  }

  private current(): TokenClaims {
    if (!this.claims) throw new AuthenticationRequiredError();
    return this.claims;
  }

  private issue(identity: Identity, record: SessionRecord): LoginResult {
    const issued = this.tokens.issue(identity, record.idHash);
    if (this.tokens.cookie) {
      this.response.appendSetCookie(sessionCookie({ ...this.auth.cookie, maxAgeSeconds: this.tokens.ttlSeconds }, issued.token));
    }
    const session: SessionInfo = { id: record.idHash, createdAt: record.createdAt, expiresAt: issued.expiresAt, data: {} };
    return { session, accessToken: { token: issued.token, type: 'Bearer', expiresIn: this.tokens.ttlSeconds } };
  }
}
