import type { Auth } from '../core/create-auth.js';
import { AuthenticationRequiredError, CsrfError } from '../base/errors.js';
import type { AuthContext, DeviceSession, Identity, LoginOptions, LoginResult, SessionInfo } from '../base/types.js';
import type { SessionData, SessionRecord } from '../stores/store.js';
import { clearedSessionCookie, readCookie, sessionCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import type { RequestFacts, ResponseSink } from './request.js';
import { createTokenContext } from './token-context.js';

/**
 * Builds `req.auth` for one request: synchronously when the strategy needs no I/O (stateless, once
 * warm), as a promise otherwise. Stateful: reads the session cookie, applies the CSRF guard,
 * resolves the session. Store failures propagate (503) and leave the cookie alone: an outage is
 * never a logout.
 */
export function createAuthContext(auth: Auth, request: RequestFacts, response: ResponseSink): AuthContext | Promise<AuthContext> {
  if (auth.strategy !== 'stateful' && auth.tokens) return createTokenContext(auth, auth.tokens, request, response);
  return createStatefulContext(auth, request, response);
}

/**
 * How a request that failed before it had a context is answered: with a bearer challenge where
 * tokens travel in the Authorization header (stateless or hybrid, no token cookie).
 */
export function failureScheme(auth: Auth): 'cookie' | 'bearer' {
  return auth.strategy !== 'stateful' && !auth.tokens?.cookie ? 'bearer' : 'cookie';
}

async function createStatefulContext(auth: Auth, request: RequestFacts, response: ResponseSink): Promise<AuthContext> {
  const presented = readCookie(request.header('cookie'), auth.cookie.name);
  const csrfSafe = isCsrfSafe(request, auth.trustedOrigins);
  // Any cookie-carrying unsafe request from an untrusted origin is refused before it can act.
  if (presented !== undefined && !csrfSafe) throw new CsrfError();
  const record = presented === undefined ? null : await auth.sessions.resolve(presented);
  if (presented !== undefined && record === null) response.appendSetCookie(clearedSessionCookie(auth.cookie));
  return new StatefulContext(auth, request, response, presented !== undefined, csrfSafe, record);
}

/** One object per request, its methods on the prototype: the request path allocates little. */
class StatefulContext implements AuthContext {
  readonly scheme = 'cookie';
  readonly claims = null;
  readonly failure = null;

  constructor(
    private readonly auth: Auth,
    private readonly request: RequestFacts,
    private readonly response: ResponseSink,
    private readonly hadCookie: boolean,
    private readonly csrfSafe: boolean,
    private record: SessionRecord | null,
  ) {}

  get strategy() {
    return this.auth.strategy;
  }

  get user(): Identity | null {
    const record = this.record;
    return record && { id: record.userId, name: record.userName, roles: record.roles };
  }

  get session(): SessionInfo | null {
    return this.record && this.info(this.record);
  }

  async login(identity: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    // Login sets a cookie, so it is guarded even without one: login CSRF plants the attacker's session.
    if (!this.csrfSafe) throw new CsrfError();
    const client = { userAgent: this.request.header('user-agent') ?? '', ip: this.request.ip };
    const started = await this.auth.sessions.create(identity, client, { replaces: this.record?.idHash, generation: options.generation });
    await this.auth.capSessions(identity.id);
    return this.adopt(started);
  }

  async logout(): Promise<void> {
    if (this.record) await this.auth.endSession(this.record.idHash);
    if (this.hadCookie) this.forget();
    this.record = null;
  }

  async logoutAll(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const current = this.current();
    const ended = await this.auth.revokeUser(current.userId, options.keepCurrent ? { except: current.idHash } : {});
    if (!options.keepCurrent) this.forget();
    return ended;
  }

  async rotate(identity?: Identity): Promise<LoginResult> {
    const current = this.current();
    if (identity && identity.id !== current.userId) {
      throw new AuthenticationRequiredError('rotate() keeps the user; use login() to switch users.');
    }
    return this.adopt(await this.auth.sessions.rotate(current, identity?.roles));
  }

  async listSessions(): Promise<DeviceSession[]> {
    const current = this.current();
    return this.auth.sessions.devicesOfUser(current.userId, current.idHash);
  }

  async revokeSession(id: string): Promise<boolean> {
    const current = this.current();
    const owned = (await this.auth.sessions.listOfUser(current.userId)).some((other) => other.idHash === id);
    if (!owned) return false;
    await this.auth.endSession(id);
    if (id === current.idHash) this.forget();
    return true;
  }

  async updateData(update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>> {
    const updated = await this.auth.sessions.updateData(this.current(), update);
    if (!updated) {
      this.record = null;
      throw new AuthenticationRequiredError('The session ended.');
    }
    this.record = updated;
    return updated.data;
  }

  private current(): SessionRecord {
    if (!this.record) throw new AuthenticationRequiredError();
    return this.record;
  }

  private info(record: SessionRecord): SessionInfo {
    return { id: record.idHash, createdAt: record.createdAt, expiresAt: this.auth.sessions.expiresAt(record), data: record.data };
  }

  private adopt(next: { id: string; record: SessionRecord }): LoginResult {
    this.record = next.record;
    this.response.appendSetCookie(sessionCookie(this.auth.cookie, next.id));
    return { session: this.info(next.record) };
  }

  private forget(): void {
    this.record = null;
    this.response.appendSetCookie(clearedSessionCookie(this.auth.cookie));
  }
}
