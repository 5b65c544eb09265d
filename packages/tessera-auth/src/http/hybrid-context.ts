import type { Auth } from '../core/create-auth.js';
import { AuthenticationRequiredError, CsrfError } from '../base/errors.js';
import type { HybridCredentials } from '../core/hybrid.js';
import type { Identity, LoginOptions, LoginResult } from '../base/types.js';
import type { SessionData } from '../stores/store.js';
import { clearedSessionCookie, sessionCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import type { ResponseSink } from './request.js';
import { StatelessContext } from './stateless-context.js';

/**
 * Hands hybrid credentials to the client: the access token in the result, the refresh handle as a
 * cookie scoped to the refresh path (it lives until the session's absolute end) or, for the `body`
 * transport, in the result too.
 */
export function deliverHybrid(auth: Auth, response: ResponseSink, credentials: HybridCredentials, transport: 'cookie' | 'body'): LoginResult {
  const { record, accessToken } = credentials;
  const now = auth.clock.now();
  if (transport === 'cookie') {
    const maxAgeSeconds = Math.max(0, Math.floor((record.absoluteExpiresAt - now) / 1000));
    response.appendSetCookie(sessionCookie({ ...auth.refreshCookie, maxAgeSeconds }, credentials.refreshToken));
  }
  return {
    session: { id: record.idHash, createdAt: record.createdAt, expiresAt: auth.sessions.expiresAt(record), data: record.data },
    accessToken: { token: accessToken.token, type: 'Bearer', expiresIn: accessToken.expiresIn },
    ...(transport === 'body' && { refreshToken: credentials.refreshToken }),
  };
}

/**
 * `req.auth` of the hybrid strategy. Requests are authenticated exactly as in the stateless one
 * (access token, revocation list, no store I/O); what differs is that a session stands behind
 * every login, holding the refresh handle and any session data.
 */
export class HybridContext extends StatelessContext {
  override async login(identity: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    const transport = options.transport ?? 'cookie';
    // Setting a cookie is guarded like any cookie login (login CSRF plants the attacker's session).
    if (transport === 'cookie' && !isCsrfSafe(this.request, this.auth.trustedOrigins)) throw new CsrfError();
    const previous = this.claims?.sid;
    if (typeof previous === 'string') await this.auth.endSession(previous);
    const client = { userAgent: this.request.header('user-agent') ?? '', ip: this.request.ip };
    return deliverHybrid(this.auth, this.response, await this.hybrid().start(identity, client, { generation: options.generation }), transport);
  }

  override async logout(): Promise<void> {
    // The session first: a dead token (401) or a store outage (503) leaves the refresh cookie alone.
    await super.logout();
    this.forgetRefresh();
  }

  override async logoutAll(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const ended = await super.logoutAll(options);
    if (!options.keepCurrent) this.forgetRefresh();
    return ended;
  }

  override async rotate(identity?: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    const record = await this.currentRecord();
    if (identity && identity.id !== record.userId) throw new AuthenticationRequiredError('rotate() keeps the user; use login() to switch users.');
    const credentials = await this.hybrid().renew(record, identity?.roles ?? record.roles);
    return deliverHybrid(this.auth, this.response, credentials, options.transport ?? 'cookie');
  }

  override async revokeSession(id: string): Promise<boolean> {
    const revoked = await super.revokeSession(id);
    if (revoked && id === this.claims?.sid) this.forgetRefresh();
    return revoked;
  }

  /** Session data lives in the session record; unlike authentication, this reads the store. */
  override async updateData(update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>> {
    const updated = await this.auth.sessions.updateData(await this.currentRecord(), update);
    if (!updated) throw new AuthenticationRequiredError('The session ended.');
    return updated.data;
  }

  private hybrid() {
    const hybrid = this.auth.hybrid;
    if (!hybrid) throw new TypeError('HybridContext needs auth.hybrid');
    return hybrid;
  }

  /** The cookie is sent only to the refresh path, so it is cleared blindly: harmless when absent. */
  private forgetRefresh(): void {
    this.response.appendSetCookie(clearedSessionCookie(this.auth.refreshCookie));
  }
}
