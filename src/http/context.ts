import type { Auth } from '../core/create-auth.js';
import { AuthenticationRequiredError, CsrfError } from '../core/errors.js';
import type { AuthContext, DeviceSession, Identity, SessionInfo } from '../core/types.js';
import type { SessionRecord } from '../stores/store.js';
import { clearedSessionCookie, readCookie, sessionCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import type { RequestFacts, ResponseSink } from './request.js';

const identityOf = (record: SessionRecord): Identity => ({ id: record.userId, name: record.userName, roles: record.roles });

/**
 * Builds `req.auth` for one request of the stateful strategy: reads the session cookie, applies the
 * CSRF guard, resolves the session, and offers the session operations. Store failures propagate
 * (503) and leave the cookie alone: an outage is never a logout.
 */
export async function createAuthContext(auth: Auth, request: RequestFacts, response: ResponseSink): Promise<AuthContext> {
  const { sessions, cookie } = auth;
  const presented = readCookie(request.header('cookie'), cookie.name);
  const csrfSafe = isCsrfSafe(request, auth.trustedOrigins);
  // Any cookie-carrying unsafe request from an untrusted origin is refused before it can act.
  if (presented !== undefined && !csrfSafe) throw new CsrfError();

  let record = presented === undefined ? null : await sessions.resolve(presented);
  if (presented !== undefined && record === null) response.appendSetCookie(clearedSessionCookie(cookie));

  const info = (current: SessionRecord): SessionInfo => ({
    id: current.idHash,
    createdAt: current.createdAt,
    expiresAt: sessions.expiresAt(current),
    data: current.data,
  });
  const requireRecord = (): SessionRecord => {
    if (!record) throw new AuthenticationRequiredError();
    return record;
  };
  const adopt = (next: { id: string; record: SessionRecord }): SessionInfo => {
    record = next.record;
    response.appendSetCookie(sessionCookie(cookie, next.id));
    return info(next.record);
  };

  return {
    strategy: auth.strategy,
    get user() {
      return record ? identityOf(record) : null;
    },
    get session() {
      return record ? info(record) : null;
    },
    async login(identity) {
      // Login sets a cookie, so it is guarded even without one: login CSRF plants the attacker's session.
      if (!csrfSafe) throw new CsrfError();
      const client = { userAgent: request.header('user-agent') ?? '', ip: request.ip };
      return adopt(await sessions.create(identity, client, record ? { replaces: record.idHash } : {}));
    },
    async logout() {
      if (record) await sessions.revoke(record.idHash);
      if (presented !== undefined) response.appendSetCookie(clearedSessionCookie(cookie));
      record = null;
    },
    async logoutAll(options = {}) {
      const current = requireRecord();
      const ended = await sessions.revokeAllOfUser(current.userId, options.keepCurrent ? current.idHash : undefined);
      if (!options.keepCurrent) {
        response.appendSetCookie(clearedSessionCookie(cookie));
        record = null;
      }
      return ended;
    },
    async rotate(identity) {
      const current = requireRecord();
      if (identity && identity.id !== current.userId) throw new AuthenticationRequiredError('rotate() keeps the user; use login() to switch users.');
      return adopt(await sessions.rotate(current, identity?.roles));
    },
    async listSessions(): Promise<DeviceSession[]> {
      const current = requireRecord();
      return (await sessions.listOfUser(current.userId)).map((other) => ({
        id: other.idHash,
        createdAt: other.createdAt,
        lastSeenAt: other.lastSeenAt,
        expiresAt: sessions.expiresAt(other),
        userAgent: other.userAgent,
        ip: other.ip,
        current: other.idHash === current.idHash,
      }));
    },
    async revokeSession(id) {
      const current = requireRecord();
      const owned = (await sessions.listOfUser(current.userId)).some((other) => other.idHash === id);
      if (!owned) return false;
      await sessions.revoke(id);
      if (id === current.idHash) {
        response.appendSetCookie(clearedSessionCookie(cookie));
        record = null;
      }
      return true;
    },
    async updateData(update) {
      const updated = await sessions.updateData(requireRecord(), update);
      if (!updated) {
        record = null;
        throw new AuthenticationRequiredError('The session ended.');
      }
      record = updated;
      return updated.data;
    },
  };
}
