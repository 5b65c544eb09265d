import type { TesseraError } from './errors.js';

/** What a stateful session carries for the application: JSON, at most `maxDataBytes` of it. */
export type SessionData = Record<string, unknown>;

/**
 * What can be revoked, and for how long the entry must live: only as long as a token it could
 * kill, so the list stays bounded by the revocations of one maximum token lifetime.
 * - `jti`: one token;
 * - `sid`: every token of one login (logout, a revoked device);
 * - `sub`: every token of a user issued before `revokedBefore` (logout everywhere, password or
 *   role change, account disabled), compared with the token's `iat` in whole seconds;
 * - `kid`: every token signed by a key.
 */
export type RevocationEntry =
  | { readonly kind: 'jti' | 'sid' | 'kid'; readonly value: string; readonly expiresAt: number }
  | { readonly kind: 'sub'; readonly value: string; readonly revokedBefore: number; readonly expiresAt: number };

/** How a user stays logged in: `stateful` (session cookie, a store read per request), `stateless` (signed access tokens), `hybrid` (short tokens renewed from a stateful session). */
export type Strategy = 'stateful' | 'stateless' | 'hybrid';

/** Who the request is on behalf of: the same shape whichever strategy is configured. */
export interface Identity {
  readonly id: string;
  readonly name?: string | undefined;
  readonly roles: readonly string[];
}

/** The request's session as `req.auth.session` shows it. Times are epoch ms. */
export interface SessionInfo {
  /** A public handle of the session (SHA-256 of the secret id): safe to show and log, useless as a credential. */
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly data: Readonly<SessionData>;
}

/** Options of `login` and `rotate`. */
export interface LoginOptions {
  /**
   * The user's credential generation, from `auth.credentialGeneration(userId)` read *before* the
   * password hash and roles were read. The session is created only if no credential change (password,
   * roles, logout everywhere: anything that calls `auth.revokeUser`) came in between; otherwise
   * `login` throws `CredentialsChangedError` and creates nothing: read the user again and retry.
   * Without it the generation is read when `login` is called, which misses a change made between
   * your read of the user and that call.
   */
  readonly generation?: number;
  /**
   * Hybrid strategy, how the refresh handle is handed over.
   * `cookie` (default): an HttpOnly cookie (see `refresh.cookiePath`), for browsers. `body`:
   * returned as `refreshToken`, for mobile and command-line clients that keep it themselves.
   */
  readonly transport?: 'cookie' | 'body';
}

/** What a login (or a rotation) hands back: the session, and for token strategies the access token. */
export interface LoginResult {
  readonly session: SessionInfo;
  /** Hybrid strategy with the `body` transport: the refresh handle, to be kept by the client. */
  readonly refreshToken?: string;
  readonly accessToken?: {
    readonly token: string;
    /** `DPoP` when the token is bound to the key of the request's DPoP proof (RFC 9449): send it as `Authorization: DPoP`. */
    readonly type: 'Bearer' | 'DPoP';
    /** Seconds until the token expires. */
    readonly expiresIn: number;
  };
}

/** One of the user's sessions, as the device list shows it. */
export interface DeviceSession {
  readonly id: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  /** The browser's User-Agent; for a session granted to an OAuth client, the client's name. */
  readonly userAgent: string;
  readonly ip: string;
  readonly current: boolean;
  /** The OAuth client the session was granted to, if any. */
  readonly clientId?: string | undefined;
}

/** How a request carried its credential: the session cookie, `Authorization: Bearer`, or `Authorization: DPoP` with a proof. */
export type CredentialScheme = 'cookie' | 'bearer' | 'dpop';

/** What adapters put on the request (`req.auth` in Express). */
export interface AuthContext {
  readonly strategy: Strategy;
  /** How the request carried its credential. */
  readonly scheme: CredentialScheme;
  /** The verified token claims for bearer requests; null otherwise. */
  readonly claims: Readonly<Record<string, unknown>> | null;
  /** The authenticated identity, or null for an anonymous request. */
  readonly user: Identity | null;
  /**
   * Why a request that carried a credential is anonymous (an invalid, expired or revoked token; a
   * revocation list too stale to trust): `authorize` and `requireAuth` answer with it. Public
   * routes ignore it, so a stray Authorization header never breaks them.
   */
  readonly failure: TesseraError | null;
  readonly session: SessionInfo | null;
  /**
   * Starts a session with a fresh id (any session the request carried is ended first). Stateful:
   * sets the cookie. Stateless: records the login and returns an access token. Hybrid: returns an
   * access token and hands over a refresh handle by `options.transport`.
   */
  login(identity: Identity, options?: LoginOptions): Promise<LoginResult>;
  /** Ends this request's session everywhere; anonymous requests are a no-op. */
  logout(): Promise<void>;
  /** Ends every session of the user; with `keepCurrent`, all but this one. Returns how many ended. */
  logoutAll(options?: { keepCurrent?: boolean }): Promise<number>;
  /**
   * A new credential for the same session (after a privilege change), optionally with new roles.
   * Hybrid: a new session id and refresh handle (by `options.transport`); the old ones are revoked.
   */
  rotate(identity?: Identity, options?: LoginOptions): Promise<LoginResult>;
  /** The user's live sessions, the current one marked. */
  listSessions(): Promise<DeviceSession[]>;
  /** Ends one of the user's own sessions by its public id; `false` if the user has no such session. */
  revokeSession(id: string): Promise<boolean>;
  /**
   * Changes the session data atomically (stateful only: a stateless server keeps no session data): `update` gets the latest data and returns the new data.
   * Concurrent updates are retried, never lost. Throws `session_data_too_large` past the limit.
   */
  updateData(update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>>;
}
