import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { ErrorReporter } from '../base/error-report.js';
import { createHybridStrategy, type AuthEvents } from './hybrid.js';
import { checkAuthOptions } from './check-options.js';
import { attachInternals } from './internals.js';
import { createRevoker } from './revoker.js';
import { createStatefulStrategy } from './stateful.js';
import { createStatelessStrategy } from './stateless.js';
import { authTokensOf, createTokenRuntime, type AuthTokens, type TokenStrategyOptions } from './token-runtime.js';
import type { Strategy } from '../base/types.js';
import { createRevocationMirror, type RevocationEvents } from '../revocation/revocation-mirror.js';
import { createSessionManager } from '../sessions/session-manager.js';
import { MAX_LEEWAY_SECONDS } from '../tokens/verify.js';
import type { Store } from '../stores/store.js';

/** The session cookie: HttpOnly, SameSite=Lax, Path=/, never a Domain. */
export interface CookieOptions {
  /**
   * `Secure` cookie with the `__Host-` prefix (default true). Turn off only for plain-http
   * development: browsers refuse `Secure` cookies from non-secure origins other than localhost.
   */
  secure?: boolean;
  /** Cookie name; default `__Host-tessera` when secure, `tessera` otherwise. */
  name?: string;
}

/**
 * What `createAuth` takes: the strategy switch, a store, and the options of each part.
 *
 * @example
 * ```ts
 * const auth = createAuth({
 *   strategy: 'hybrid',
 *   store: createMemoryStore(),
 *   tokens: { keys: openKeyDirectory('./keys', { createIfEmpty: 'EdDSA' }).ring, issuer: 'https://id.example.com' },
 * });
 * ```
 */
export interface AuthOptions {
  strategy: Strategy;
  store: Store;
  cookie?: CookieOptions;
  session?: {
    /** Seconds of inactivity that end a session (default 86 400: 24 h). */
    idleTimeout?: number;
    /** Seconds after login that end a session however active (default 604 800: 7 days). */
    absoluteTimeout?: number;
    /** Seconds between two activity writes (default 60, at most a tenth of the idle timeout). */
    touchInterval?: number;
    /** Largest session data, in bytes of JSON (default 16 384). */
    maxDataBytes?: number;
    /** Sessions (or stateless logins) one user may hold; a login past it ends the oldest (default 100). */
    maxPerUser?: number;
    /**
     * Stateful strategy: serve sessions from a copy in each instance instead of reading the store
     * on every request (default off: strict mode). A session ended anywhere is refused everywhere
     * before the end answers (every instance acknowledges it); an instance that has not heard
     * from the feed within `maxStaleness` reads the store again, and answers 503 if it cannot. A
     * client's own data updates are read back at any instance on its next request. Several
     * instances need a store with a feed (Redis, PostgreSQL, SQLite on one host); memory serves one process.
     */
    cache?: boolean | SessionCacheOptions;
  };
  /**
   * Required by the stateless and hybrid strategies: keys, issuer, access-token lifetime. Optional
   * for stateful, where it enables service tokens and introspection (sessions stay cookie-based).
   */
  tokens?: TokenStrategyOptions;
  /** Hybrid strategy: refresh handles. */
  refresh?: {
    /**
     * Seconds after a rotation during which the previous handle stays alive beside its successor
     * (tabs refreshing together, a lost response) instead of counting as theft (default 10).
     */
    graceSeconds?: number;
    /**
     * Path the refresh cookie is sent to (default `/`, which lets it carry the `__Host-` prefix: no
     * sibling subdomain can then shadow it). Another path keeps it off other requests, with only the
     * `__Secure-` prefix.
     */
    cookiePath?: string;
  };
  csrf?: {
    /** Origins besides the request's own host allowed to send cookie-authenticated unsafe requests. */
    trustedOrigins?: readonly string[];
  };
  clock?: Clock;
  /**
   * Where the adapters report unexpected errors (a bug in a route, a misconfiguration): anything
   * answered 500. Default: one line on stderr with an error id, which the 500 body also carries.
   */
  onError?: ErrorReporter;
}

/** Options of the stateful strategy's session cache (`session.cache`). */
export interface SessionCacheOptions {
  /** Sessions each instance keeps at most (default 100 000); past it, the one cached longest ago goes. */
  maxEntries?: number;
  /** Seconds a cached session is trusted without hearing from the revocation feed (default 5, at least 1). */
  maxStaleness?: number;
}

/** A cookie as `createAuth` resolved it from the options. */
export interface ResolvedCookie {
  readonly name: string;
  readonly secure: boolean;
  readonly path: string;
  readonly maxAgeSeconds: number;
}

/**
 * The application's one Auth object (from `createAuth`): hand it to an adapter, call its methods
 * for what happens outside of any request (an admin ends a user's sessions, a password changes).
 *
 * @example
 * ```ts
 * app.use(tessera(auth));
 * // after a password change, from anywhere:
 * await auth.revokeUser(user.id);
 * ```
 */
export interface Auth {
  readonly strategy: Strategy;
  readonly store: Store;
  readonly clock: Clock;
  /** The session cookie (stateful; stateless with `tokens.cookie`). */
  readonly cookie: ResolvedCookie;
  readonly trustedOrigins: ReadonlySet<string>;
  /** Present for the token strategies, and for stateful when configured (service tokens). */
  readonly tokens?: AuthTokens | undefined;
  /** The hybrid strategy's refresh-handle cookie. */
  readonly refreshCookie: ResolvedCookie;
  /** `refreshReused`: a stolen refresh handle was detected and its session revoked. */
  readonly events: EventEmitter<AuthEvents>;
  /**
   * This instance's copy of the revocation list (token strategies, cached sessions): `revocation`
   * as entries arrive, `acknowledged` as each change made here was applied by every instance
   * sharing the store (with how long that took, and who did not answer in time).
   */
  readonly revocationEvents?: EventEmitter<RevocationEvents> | undefined;
  /**
   * Ends every session (stateful) or login and its tokens (stateless) of a user, on every instance,
   * except the session or login `except`, and advances the user's credential generation so that no
   * login in flight, checked against the old credentials, can still create a session. Call it
   * after every change that must end credentials: password, roles, a disabled account, logout
   * everywhere. Returns how many were ended.
   */
  revokeUser(userId: string, options?: { except?: string }): Promise<number>;
  /**
   * The user's credential generation, to read *before* the user's password hash and roles, and to
   * pass to `login` (`LoginOptions.generation`): the login then fails with `CredentialsChangedError`
   * if `revokeUser` ran in between. One store read.
   */
  credentialGeneration(userId: string): Promise<number>;
  /** Ends one session or login by the id device lists show; `false` if it was already gone. */
  endSession(id: string): Promise<boolean>;
  /** Ends the user's oldest sessions past `session.maxPerUser` (every login calls it); returns how many. */
  capSessions(userId: string): Promise<number>;
  /**
   * Resolves once requests can be served without waiting: the persisted revocation list is in
   * memory and the feed followed (token strategies). Rejects while the store is unreachable.
   */
  ready(): Promise<void>;
  /** Stops background work (the revocation feed); the store is the caller's to close. */
  close(): void;
  /** Where unexpected errors are reported (`CreateAuthOptions.onError`); undefined: the default line on stderr. */
  readonly onError?: ErrorReporter | undefined;
}

const seconds = (value: number | undefined, fallback: number, name: string): number => {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) throw new ConfigError(`${name} must be a positive number of seconds.`);
  return result;
};

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function resolveCookie(options: CookieOptions, absoluteTimeoutSeconds: number): ResolvedCookie {
  const secure = options.secure ?? true;
  const name = options.name ?? (secure ? '__Host-tessera' : 'tessera');
  if (!COOKIE_NAME.test(name)) throw new ConfigError('cookie.name is not a valid cookie name.');
  // Browsers drop a prefixed cookie that lacks Secure; fail at startup rather than silently.
  if (!secure && /^__(Host|Secure)-/i.test(name)) {
    throw new ConfigError('A cookie named __Host- or __Secure- must be secure.');
  }
  return { name, secure, path: '/', maxAgeSeconds: Math.floor(absoluteTimeoutSeconds) };
}

/**
 * The refresh handle's cookie. By default `__Host-` with `Path=/`: no other site of the domain can
 * set a cookie of that name, so none can shadow it with its own handle (a session swap) or with
 * garbage. With another path the prefix can only be `__Secure-`, which a sibling subdomain can
 * shadow; duplicates are then refused at the refresh (see `refreshFromRequest`).
 */
function resolveRefreshCookie(secure: boolean, path: string, absoluteTimeoutSeconds: number): ResolvedCookie {
  if (!path.startsWith('/') || /[;\s]/.test(path)) throw new ConfigError('refresh.cookiePath must be an absolute path.');
  const name = !secure ? 'tessera-refresh' : path === '/' ? '__Host-tessera-refresh' : '__Secure-tessera-refresh';
  return { name, secure, path, maxAgeSeconds: Math.floor(absoluteTimeoutSeconds) };
}

function resolveOrigins(origins: readonly string[]): Set<string> {
  return new Set(
    origins.map((origin) => {
      try {
        return new URL(origin).origin;
      } catch {
        throw new ConfigError(`csrf.trustedOrigins has an invalid origin: ${JSON.stringify(origin)}.`);
      }
    }),
  );
}

function resolveCacheOptions(option: boolean | SessionCacheOptions | undefined, strategy: Strategy) {
  if (!option) return undefined;
  if (strategy !== 'stateful')
    throw new ConfigError('session.cache is for the stateful strategy (the token strategies read no session per request).');
  const { maxEntries = 100_000, maxStaleness } = option === true ? {} : option;
  if (!Number.isInteger(maxEntries) || maxEntries <= 0) throw new ConfigError('session.cache.maxEntries must be a positive integer.');
  return { maxEntries, maxStaleness };
}

/**
 * One Auth object for the whole application; every option is checked here, once (`ConfigError`).
 *
 * @example
 * ```ts
 * import { createAuth } from 'tessera-auth';
 * import { createSqliteStore } from 'tessera-auth/sqlite';
 *
 * const auth = createAuth({ strategy: 'stateful', store: createSqliteStore({ path: 'sessions.db' }) });
 * ```
 */
export function createAuth(options: AuthOptions): Auth {
  checkAuthOptions(options);
  const { strategy, store } = options;
  if (strategy !== 'stateful' && !options.tokens) throw new ConfigError(`The ${strategy} strategy needs tokens: { keys, issuer }.`);
  if (strategy === 'hybrid' && options.tokens?.cookie) {
    throw new ConfigError(
      'The hybrid strategy keeps access tokens out of cookies (tokens.cookie is for stateless); its refresh handle has the cookie.',
    );
  }
  const dpopMode = options.tokens?.dpop?.mode ?? 'off';
  if (dpopMode !== 'off' && strategy === 'stateful') {
    throw new ConfigError('tokens.dpop binds the tokens of the stateless and hybrid strategies; stateful sessions travel in a cookie.');
  }
  if (dpopMode !== 'off' && options.tokens?.cookie) {
    throw new ConfigError('tokens.dpop needs tokens in the Authorization header (DPoP scheme), not in a cookie: turn tokens.cookie off.');
  }

  const idle = seconds(options.session?.idleTimeout, 86_400, 'session.idleTimeout');
  const absolute = seconds(options.session?.absoluteTimeout, 604_800, 'session.absoluteTimeout');
  const touch = seconds(options.session?.touchInterval, Math.min(60, idle / 10), 'session.touchInterval');
  const maxDataBytes = options.session?.maxDataBytes ?? 16_384;
  const maxPerUser = options.session?.maxPerUser ?? 100;
  if (!Number.isInteger(maxPerUser) || maxPerUser <= 0) throw new ConfigError('session.maxPerUser must be a positive integer.');
  if (!Number.isInteger(maxDataBytes) || maxDataBytes <= 0) {
    throw new ConfigError('session.maxDataBytes must be a positive integer.');
  }
  const clock = options.clock ?? systemClock;
  const graceSeconds = options.refresh?.graceSeconds ?? 10;
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0 || graceSeconds > 300) {
    throw new ConfigError('refresh.graceSeconds must be between 0 and 300.');
  }
  const cache = resolveCacheOptions(options.session?.cache, strategy);
  // One copy of the revocation list per instance, for tokens and cached sessions alike.
  const maxStaleness = options.tokens?.maxStaleness ?? cache?.maxStaleness;
  const revocations =
    options.tokens || cache ? createRevocationMirror({ store, clock, ...(maxStaleness !== undefined && { maxStaleness }) }) : undefined;
  // Hybrid access tokens are short-lived (5 minutes): the refresh handle renews them.
  const tokenOptions = options.tokens && { ...options.tokens, accessTtl: options.tokens.accessTtl ?? (strategy === 'hybrid' ? 300 : 900) };
  const tokens = tokenOptions && revocations ? createTokenRuntime(tokenOptions, revocations, clock) : undefined;
  // Records outlive their sessions while tokens issued from them may be accepted (see revokeUser).
  const retainMs = tokens?.retainMs ?? 0;
  // Stateless: a session is a login record, for the device list only; it lives as long as its token.
  const policy =
    strategy === 'stateless' && tokens
      ? {
          idleTimeoutMs: tokens.ttlSeconds * 1000,
          absoluteTimeoutMs: tokens.ttlSeconds * 1000,
          touchIntervalMs: tokens.ttlSeconds * 1000,
          maxDataBytes,
          retainMs,
        }
      : { idleTimeoutMs: idle * 1000, absoluteTimeoutMs: absolute * 1000, touchIntervalMs: touch * 1000, maxDataBytes, retainMs };

  const sessions = createSessionManager(store, policy, clock);
  // A session's end lives on the list as long as a copy of it may be accepted somewhere: a token
  // for its lifetime, a cached session until its next touch; plus the largest clock leeway.
  const announcedMs = Math.max(tokens ? tokens.ttlSeconds * 1000 : 0, cache ? policy.touchIntervalMs : 0) + MAX_LEEWAY_SECONDS * 1000;
  const announceEnd =
    revocations && ((idHash: string) => revocations.add({ kind: 'sid', value: idHash, expiresAt: clock.now() + announcedMs }));
  const events = new EventEmitter<AuthEvents>();
  const revoker = createRevoker(sessions, announceEnd, maxPerUser, {
    watching: () => events.listenerCount('sessionEnded') > 0,
    tell: (record) => events.emit('sessionEnded', { sessionId: record.idHash, userId: record.userId, clientId: record.clientId }),
  });
  const hybrid =
    strategy === 'hybrid' && tokens
      ? createHybridStrategy({ store, sessions, tokens, revoker, clock, graceMs: graceSeconds * 1000, events })
      : undefined;
  const tokenStrategy = strategy === 'stateless' && tokens ? createStatelessStrategy(sessions, tokens, revoker) : hybrid;
  const cookie = resolveCookie(options.cookie ?? {}, absolute);

  const auth: Auth = {
    strategy,
    store,
    clock,
    tokens: tokens && authTokensOf(tokens),
    events,
    revocationEvents: revocations?.events,
    revokeUser: revoker.revokeUser,
    endSession: revoker.endSession,
    capSessions: revoker.capSessions,
    credentialGeneration: sessions.generation,
    cookie,
    refreshCookie: resolveRefreshCookie(cookie.secure, options.refresh?.cookiePath ?? '/', absolute),
    trustedOrigins: resolveOrigins(options.csrf?.trustedOrigins ?? []),
    ready: async () => revocations?.ensureLoaded(),
    close: () => revocations?.close(),
    onError: options.onError,
  };
  const stateful = createStatefulStrategy({ sessions, revoker, clock, ...(cache && revocations && { cache: { ...cache, revocations } }) });
  return attachInternals(auth, { sessions, revoker, tokens, revocations, stateful, tokenStrategy, hybrid });
}
