import type { Auth } from '../core/create-auth.js';
import { AuthenticationRequiredError, CsrfError, NotImplementedError, type TesseraError } from '../base/errors.js';
import type { TokenRuntime } from '../core/token-runtime.js';
import type { AuthContext, DeviceSession, Identity, LoginOptions, LoginResult, SessionInfo } from '../base/types.js';
import type { SessionData, SessionRecord } from '../stores/store.js';
import type { TokenClaims } from '../tokens/verify.js';
import { BearerContext } from './bearer.js';
import { clearedSessionCookie, sessionCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import type { RequestFacts, ResponseSink } from './request.js';

/** `req.auth` of the stateless strategy (and, extended, of the hybrid one): everything comes from the verified claims. */
export class StatelessContext extends BearerContext implements AuthContext {
  override readonly scheme: 'cookie' | 'bearer';

  constructor(
    protected readonly auth: Auth,
    protected readonly tokens: TokenRuntime,
    protected readonly request: RequestFacts,
    protected readonly response: ResponseSink,
    claims: TokenClaims | null,
    fromCookie: boolean,
    failure: TesseraError | null = null,
  ) {
    super(claims, auth.strategy, failure);
    this.scheme = fromCookie ? 'cookie' : 'bearer';
  }

  override async login(identity: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    // With the token in a cookie, login is guarded like a session login (login CSRF).
    if (this.tokens.cookie && !isCsrfSafe(this.request, this.auth.trustedOrigins)) throw new CsrfError();
    const client = { userAgent: this.request.header('user-agent') ?? '', ip: this.request.ip };
    const { record } = await this.auth.sessions.create(identity, client, { generation: options.generation });
    await this.auth.capSessions(identity.id);
    return this.issue(identity, record);
  }

  override async logout(): Promise<void> {
    // A client logging out with a dead token is told so, not answered as if its session had ended.
    if (this.failure) throw this.failure;
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
    if (claims.jti) await this.tokens.revokeToken({ jti: claims.jti, exp: claims.exp });
    // The record is read last, so the new token is issued in the same tick as the store's answer
    // that the login is still live: an end of the login after that answer revokes it too.
    return this.issue(identity ?? (this.user as Identity), await this.currentRecord());
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

  override async updateData(_update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>> {
    throw new NotImplementedError('The stateless strategy keeps no session data on the server; use stateful or hybrid.');
  }

  /** The session or login record behind the token (a store read: for explicit calls, never per request). */
  protected async currentRecord(): Promise<SessionRecord> {
    const record = await this.auth.sessions.live(this.current().sid);
    if (!record) throw new AuthenticationRequiredError('The session has ended.');
    return record;
  }

  protected current(): TokenClaims {
    if (!this.claims) throw this.failure ?? new AuthenticationRequiredError();
    return this.claims;
  }

  protected issue(identity: Identity, record: SessionRecord): LoginResult {
    const issued = this.tokens.issue(identity, record.idHash, this.auth.sessions.expiresAt(record));
    if (this.tokens.cookie) {
      this.response.appendSetCookie(sessionCookie({ ...this.auth.cookie, maxAgeSeconds: issued.expiresIn }, issued.token));
    }
    const session: SessionInfo = { id: record.idHash, createdAt: record.createdAt, expiresAt: issued.expiresAt, data: {} };
    return { session, accessToken: { token: issued.token, type: 'Bearer', expiresIn: issued.expiresIn } };
  }
}
