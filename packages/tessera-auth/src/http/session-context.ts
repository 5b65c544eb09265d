import type { Auth } from '../core/create-auth.js';
import { internalsOf, type AuthInternals } from '../core/internals.js';
import { sessionInfo, type Issued } from '../core/strategy.js';
import { AuthenticationRequiredError, CsrfError } from '../base/errors.js';
import type { AuthContext, DeviceSession, Identity, LoginOptions, LoginResult, SessionData, SessionInfo } from '../base/types.js';
import type { SessionRecord } from '../stores/store.js';
import { clearedSessionCookie, readCookie, sessionCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import type { RequestFacts, ResponseSink } from './request.js';

/**
 * `req.auth` of the stateful strategy: reads the session cookie, applies the CSRF guard, resolves
 * the session. Store failures propagate (503) and leave the cookie alone: an outage is never a
 * logout.
 */
export async function createSessionContext(auth: Auth, request: RequestFacts, response: ResponseSink): Promise<AuthContext> {
  const presented = readCookie(request.header('cookie'), auth.cookie.name);
  const csrfSafe = isCsrfSafe(request, auth.trustedOrigins);
  // Any cookie-carrying unsafe request from an untrusted origin is refused before it can act.
  if (presented !== undefined && !csrfSafe) throw new CsrfError();
  const internals = internalsOf(auth);
  const record = presented === undefined ? null : await resolvePresented(internals, presented);
  if (presented !== undefined && record === null) response.appendSetCookie(clearedSessionCookie(auth.cookie));
  return new SessionContext(auth, internals, request, response, presented, csrfSafe, record);
}

/**
 * The cookie holds the session id, and in cached mode `.<version>` once the session's data has
 * been written: the version the client must read back, at whichever instance it lands next.
 */
function resolvePresented(internals: AuthInternals, presented: string): Promise<SessionRecord | null> {
  const sessionId = sessionIdOf(presented);
  if (sessionId === presented) return internals.stateful.resolve(presented);
  const version = Number(presented.slice(sessionId.length + 1));
  return internals.stateful.resolve(sessionId, Number.isSafeInteger(version) && version > 0 ? version : 0);
}

function sessionIdOf(presented: string): string {
  const dot = presented.indexOf('.');
  return dot < 0 ? presented : presented.slice(0, dot);
}

/** One object per request, its methods on the prototype: the request path allocates little. */
class SessionContext implements AuthContext {
  readonly scheme = 'cookie';
  readonly claims = null;
  readonly failure = null;

  constructor(
    private readonly auth: Auth,
    private readonly internals: AuthInternals,
    private readonly request: RequestFacts,
    private readonly response: ResponseSink,
    private readonly presented: string | undefined,
    private readonly csrfSafe: boolean,
    private record: SessionRecord | null,
  ) {
    this.sessionId = record && presented !== undefined ? sessionIdOf(presented) : undefined;
  }

  /** The secret id of the request's session, once it is known to be live (or was just issued). */
  private sessionId: string | undefined;

  get strategy() {
    return this.auth.strategy;
  }

  get user(): Identity | null {
    const record = this.record;
    return record && { id: record.userId, name: record.userName, roles: record.roles };
  }

  get session(): SessionInfo | null {
    return this.record && sessionInfo(this.internals.sessions, this.record);
  }

  async login(identity: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    // Login sets a cookie, so it is guarded even without one: login CSRF plants the attacker's session.
    if (!this.csrfSafe) throw new CsrfError();
    const client = { userAgent: this.request.header('user-agent') ?? '', ip: this.request.ip };
    return this.adopt(
      await this.internals.stateful.login(identity, client, { replaces: this.record?.idHash, generation: options.generation }),
    );
  }

  async logout(): Promise<void> {
    if (this.record) await this.auth.endSession(this.record.idHash);
    if (this.presented !== undefined) this.forget();
    this.record = null;
  }

  async logoutAll(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const current = this.current();
    const ended = await this.auth.revokeUser(current.userId, options.keepCurrent ? { except: current.idHash } : {});
    if (!options.keepCurrent) this.forget();
    return ended;
  }

  async rotate(identity?: Identity): Promise<LoginResult> {
    return this.adopt(await this.internals.stateful.rotate(this.current(), identity));
  }

  listSessions(): Promise<DeviceSession[]> {
    const current = this.current();
    return this.internals.sessions.devicesOfUser(current.userId, current.idHash);
  }

  async revokeSession(id: string): Promise<boolean> {
    const current = this.current();
    const ended = await this.internals.revoker.endOwnSession(current.userId, id);
    if (ended && id === current.idHash) this.forget();
    return ended;
  }

  async updateData(update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>> {
    try {
      this.record = await this.internals.stateful.updateData(this.current(), update);
    } catch (error) {
      if (error instanceof AuthenticationRequiredError) this.record = null;
      throw error;
    }
    // Cached mode: the client carries the version it wrote, so any instance reads this data back.
    if (this.internals.stateful.cached && this.sessionId !== undefined) {
      this.response.appendSetCookie(sessionCookie(this.auth.cookie, `${this.sessionId}.${this.record.version}`));
    }
    return this.record.data;
  }

  private current(): SessionRecord {
    if (!this.record) throw new AuthenticationRequiredError();
    return this.record;
  }

  private adopt(issued: Issued): LoginResult {
    this.record = issued.record;
    this.sessionId = issued.sessionId;
    this.response.appendSetCookie(sessionCookie(this.auth.cookie, issued.sessionId as string));
    return { session: issued.session };
  }

  private forget(): void {
    this.record = null;
    this.sessionId = undefined;
    this.response.appendSetCookie(clearedSessionCookie(this.auth.cookie));
  }
}
