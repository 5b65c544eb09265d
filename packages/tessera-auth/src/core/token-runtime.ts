import type { EventEmitter } from 'node:events';
import type { RevocationEntry } from '../base/types.js';
import type { RevocationEvents, RevocationMirror } from '../revocation/revocation-mirror.js';
import type { KeyRing } from '../tokens/key-ring.js';
import { createTokenIssuer, type IssuedToken } from '../tokens/sign.js';
import { createVerifier, MAX_LEEWAY_SECONDS, type TokenClaims, type Verifier, verifyingKeyOf } from '../tokens/verify.js';
import type { Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { Identity } from '../base/types.js';

/** The `tokens` options of `createAuth`: keys, issuer, lifetimes. */
export interface TokenStrategyOptions {
  /** Signing and verification keys (see `openKeyDirectory` to share a directory between servers). */
  keys: KeyRing;
  /** `iss` of every token, conventionally the identity server's URL. */
  issuer: string;
  /** `aud` of access tokens (default: the issuer). */
  audience?: string;
  /**
   * `client_id` of every token (RFC 9068 requires one): the client the tokens are issued to. Users
   * log in through the server's own routes, so it names the first-party application (default
   * `tessera`).
   */
  clientId?: string;
  /** Access-token lifetime in seconds (default 900). */
  accessTtl?: number;
  /** Clock skew tolerated on exp/nbf/iat, in seconds (default 5, at most 60). */
  leeway?: number;
  /**
   * How long an instance trusts its revocation list without hearing from the shared feed, in
   * seconds (default 5). Past it, token requests get 503 until the feed answers again: a
   * partitioned instance never accepts a token that may have been revoked meanwhile.
   */
  maxStaleness?: number;
  /**
   * Also carry the access token in the session cookie (HttpOnly, the `cookie` options of
   * createAuth), for browser apps that should never hold the token in script. The bearer header
   * still works and wins; cookie-carried unsafe requests pass the CSRF guard. Default false.
   */
  cookie?: boolean;
}

/** `auth.tokens`: what an application may read and do with the token side of its Auth. */
export interface AuthTokens {
  /** `iss` of every token. */
  readonly issuer: string;
  /** `aud` of access tokens. */
  readonly audience: string;
  /** `client_id` of every token. */
  readonly clientId: string;
  /** Access-token lifetime, in seconds. */
  readonly ttlSeconds: number;
  /** Whether access tokens also travel in the session cookie. */
  readonly cookie: boolean;
  /** `revocation`: an entry reached this instance's list (from the shared feed, or added here without one). */
  readonly events: EventEmitter<RevocationEvents>;
  /** Loads the persisted revocation list and follows the feed; requests wait for it otherwise. */
  ensureLoaded(): Promise<void>;
  /** Seconds since the shared revocation feed was last heard from (0 without a feed). */
  feedSilenceSeconds(): number;
  /** Whether this instance's copy may be missing revocations: the feed silent past `maxStaleness`. */
  isStale(): boolean;
  /** The entries in force in this instance's copy, and the feed position they cover (see `RevocationMirror.snapshot`). */
  revocationSnapshot(): { entries: RevocationEntry[]; position: string | undefined };
  /** Revokes by a raw entry: durably, then here; other instances hear it from the feed. */
  revoke(entry: RevocationEntry): Promise<void>;
  /** Revokes every token signed by key `kid`, until the last of them could be accepted anywhere. */
  revokeKey(kid: string): Promise<void>;
  /**
   * A short-lived token for one other service (`audience`), on behalf of the user of session
   * `sessionId`, which ends at `sessionEndsAt` (epoch ms): it dies with the session like any
   * access token, and lives at most a minute.
   */
  issueService(identity: Identity, sessionId: string, sessionEndsAt: number, audience: string, scope: string | undefined): IssuedToken;
}

/** The token side as the library's own layers use it. */
export interface TokenRuntime extends AuthTokens {
  readonly loaded: boolean;
  readonly verify: Verifier;
  /** Introspection and revocation accept tokens for any audience (service tokens included). */
  readonly verifyAnyAudience: Verifier;
  readonly revocations: RevocationMirror;
  /** How long a session's record is kept after it ends: a verifier accepts its last token for its leeway after `exp`. */
  readonly retainMs: number;
  /** Revocation check of verified claims: 503 when the copy is stale, 401 when revoked. */
  checkRevocation(claims: TokenClaims): void;
  /** Revokes one token until the last moment any verifier could accept it (`exp` plus the largest leeway). */
  revokeToken(claims: { readonly jti: string; readonly exp: number }): Promise<void>;
  /** An access token for session `sid`, which ends at `sessionEndsAt` (epoch ms): the token expires by then. */
  issue(identity: Identity, sid: string, sessionEndsAt: number): IssuedToken;
  close(): void;
}

/**
 * Everything the token strategies need at run time: issue, verify, and the revocation list that
 * every request checks in memory. A revocation is written to the store before it takes effect
 * here, so it survives a restart; the list is replayed from the store before the first request.
 */
export function createTokenRuntime(options: TokenStrategyOptions, mirror: RevocationMirror, clock: Clock): TokenRuntime {
  const ttlSeconds = options.accessTtl ?? 900;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new ConfigError('tokens.accessTtl must be a positive number of seconds.');
  if (!options.issuer) throw new ConfigError('tokens.issuer is required.');
  const audience = options.audience ?? options.issuer;
  const clientId = options.clientId ?? 'tessera';
  const issuer = createTokenIssuer({ keys: options.keys, issuer: options.issuer, ttlSeconds, clock });
  const claimsOf = (identity: Identity, sid: string) => ({
    client_id: clientId,
    sid,
    roles: [...identity.roles],
    ...(identity.name !== undefined && { name: identity.name }),
  });
  const verify = createVerifier({
    keys: options.keys,
    typ: 'at+jwt',
    issuer: options.issuer,
    audience,
    clock,
    ...(options.leeway !== undefined && { leewaySeconds: options.leeway }),
  });
  const verifyAnyAudience = createVerifier({
    keys: options.keys,
    typ: 'at+jwt',
    issuer: options.issuer,
    clock,
    ...(options.leeway !== undefined && { leewaySeconds: options.leeway }),
  });

  return {
    ttlSeconds,
    issuer: options.issuer,
    audience,
    clientId,
    verify,
    verifyAnyAudience,
    cookie: options.cookie ?? false,
    get loaded() {
      return mirror.loaded;
    },
    revocations: mirror,
    events: mirror.events,
    checkRevocation: (claims) => mirror.check(claims, verifyingKeyOf(claims)),
    ensureLoaded: mirror.ensureLoaded,
    isStale: mirror.isStale,
    feedSilenceSeconds: mirror.feedSilenceSeconds,
    close: mirror.close,
    revoke: mirror.add,
    revocationSnapshot: mirror.snapshot,
    retainMs: MAX_LEEWAY_SECONDS * 1000,

    revokeToken(claims) {
      return mirror.add({ kind: 'jti', value: claims.jti, expiresAt: (claims.exp + MAX_LEEWAY_SECONDS) * 1000 });
    },

    revokeKey(kid) {
      // A key signs nothing after it is revoked, so no token it signed outlives one lifetime from now.
      return mirror.add({ kind: 'kid', value: kid, expiresAt: clock.now() + (ttlSeconds + MAX_LEEWAY_SECONDS) * 1000 });
    },

    issue(identity, sid, sessionEndsAt) {
      return issuer.issue({ sub: identity.id, aud: audience, claims: claimsOf(identity, sid), notAfter: Math.floor(sessionEndsAt / 1000) });
    },

    issueService(identity, sid, sessionEndsAt, serviceAudience, scope) {
      const claims = { ...claimsOf(identity, sid), ...(scope && { scope }) };
      return issuer.issue({
        sub: identity.id,
        aud: serviceAudience,
        claims,
        ttlSeconds: Math.min(60, ttlSeconds),
        notAfter: Math.floor(sessionEndsAt / 1000),
      });
    },
  };
}

/** The public face of a token runtime: only what `AuthTokens` declares. */
export function authTokensOf(runtime: TokenRuntime): AuthTokens {
  const { issuer, audience, clientId, ttlSeconds, cookie, events, ensureLoaded, feedSilenceSeconds, isStale } = runtime;
  const { revocationSnapshot, revoke, revokeKey, issueService } = runtime;
  return {
    issuer,
    audience,
    clientId,
    ttlSeconds,
    cookie,
    events,
    ensureLoaded,
    feedSilenceSeconds,
    isStale,
    revocationSnapshot,
    revoke,
    revokeKey,
    issueService,
  };
}
