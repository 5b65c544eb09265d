import { AuthenticationRequiredError } from '../base/errors.js';
import type { Identity, SessionData, SessionInfo } from '../base/types.js';
import type { ClientInfo, SessionManager } from '../sessions/session-manager.js';
import type { SessionRecord } from '../stores/store.js';
import type { IssuedToken } from '../tokens/sign.js';
import type { TokenClaims } from '../tokens/verify.js';

/**
 * What a login, rotation or refresh hands over; the HTTP layer decides how each part travels
 * (cookie, header, body).
 */
export interface Issued {
  readonly record: SessionRecord;
  readonly session: SessionInfo;
  /** Stateful: the secret session id, the cookie's value. */
  readonly sessionId?: string;
  readonly accessToken?: IssuedToken;
  /** Hybrid: the refresh handle, `<session id>.<secret>`, handed to the client once and never stored. */
  readonly refreshToken?: string;
  /** The DPoP key the access token (and refresh handle) is bound to. */
  readonly jkt?: string | undefined;
}

/** Options of a token strategy's login. */
export interface TokenLoginOptions {
  /** The request's own login, ended first. */
  readonly previous?: string | undefined;
  /** The credential generation read before the user (see `LoginOptions.generation`). */
  readonly generation?: number | undefined;
  /** The key of the request's DPoP proof: the tokens are bound to it. */
  readonly jkt?: string | undefined;
}

/** What the token strategies (stateless and hybrid) do beyond authenticating a request. */
export interface TokenStrategy {
  /** A new login; the login `previous` (the request's own) ends first. */
  login(identity: Identity, client: ClientInfo, options: TokenLoginOptions): Promise<Issued>;
  /** New credentials for the login behind `claims`, for `identity` (the same user, new roles) or as it was; bound as the old ones were. */
  rotate(claims: TokenClaims, identity: Identity | undefined): Promise<Issued>;
  updateData(claims: TokenClaims, update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>>;
}

export const identityOfRecord = (record: SessionRecord): Identity => ({ id: record.userId, name: record.userName, roles: record.roles });

const stringArray = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

export const identityOfClaims = (claims: TokenClaims): Identity => ({
  id: claims.sub,
  name: typeof claims.name === 'string' ? claims.name : undefined,
  roles: stringArray(claims.roles),
});

/** Rotation renews credentials; switching users is a login. */
export function assertSameUser(userId: string, identity: Identity | undefined): void {
  if (identity && identity.id !== userId) throw new AuthenticationRequiredError('rotate() keeps the user; use login() to switch users.');
}

/** The session or login record behind a token: a store read, for explicit calls, never per request. */
export async function liveRecord(sessions: SessionManager, sid: unknown): Promise<SessionRecord> {
  const record = await sessions.live(sid);
  if (!record) throw new AuthenticationRequiredError('The session has ended.');
  return record;
}

export async function updateRecordData(
  sessions: SessionManager,
  record: SessionRecord,
  update: (data: SessionData) => SessionData,
): Promise<SessionRecord> {
  const updated = await sessions.updateData(record, update);
  if (!updated) throw new AuthenticationRequiredError('The session ended.');
  return updated;
}

export const sessionInfo = (sessions: SessionManager, record: SessionRecord): SessionInfo => ({
  id: record.idHash,
  createdAt: record.createdAt,
  expiresAt: sessions.expiresAt(record),
  data: record.data,
});
