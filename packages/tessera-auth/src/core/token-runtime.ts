import { createRevocationMirror } from '../revocation/revocation-mirror.js';
import type { Store } from '../stores/store.js';
import type { KeyRing } from '../tokens/key-ring.js';
import { createTokenIssuer } from '../tokens/sign.js';
import { createVerifier, MAX_LEEWAY_SECONDS } from '../tokens/verify.js';
import type { Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { Identity } from '../base/types.js';

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

export type TokenRuntime = ReturnType<typeof createTokenRuntime>;

/**
 * Everything the token strategies need at run time: issue, verify, and the revocation list that
 * every request checks in memory. A revocation is written to the store before it takes effect
 * here, so it survives a restart; the list is replayed from the store before the first request.
 */
export function createTokenRuntime(options: TokenStrategyOptions, store: Store, clock: Clock) {
  const ttlSeconds = options.accessTtl ?? 900;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new ConfigError('tokens.accessTtl must be a positive number of seconds.');
  if (!options.issuer) throw new ConfigError('tokens.issuer is required.');
  const audience = options.audience ?? options.issuer;
  const clientId = options.clientId ?? 'tessera';
  const issuer = createTokenIssuer({ keys: options.keys, issuer: options.issuer, ttlSeconds, clock });
  const verify = createVerifier({
    keys: options.keys,
    typ: 'at+jwt',
    issuer: options.issuer,
    audience,
    clock,
    ...(options.leeway !== undefined && { leewaySeconds: options.leeway }),
  });
  // Introspection and revocation accept tokens for any audience (service tokens included).
  const verifyAnyAudience = createVerifier({
    keys: options.keys,
    typ: 'at+jwt',
    issuer: options.issuer,
    clock,
    ...(options.leeway !== undefined && { leewaySeconds: options.leeway }),
  });
  const mirror = createRevocationMirror({ store, clock, ...(options.maxStaleness !== undefined && { maxStaleness: options.maxStaleness }) });

  return {
    ttlSeconds,
    issuer: options.issuer,
    audience,
    clientId,
    verify,
    verifyAnyAudience,
    cookie: options.cookie ?? false,
    /** Whether the persisted list is in memory (after which requests need not wait for it). */
    get loaded() {
      return mirror.loaded;
    },
    revocations: mirror.list,
    events: mirror.events,
    /** Revocation check of verified claims: 503 when the copy is stale, 401 when revoked. */
    checkRevocation: mirror.check,
    ensureLoaded: mirror.ensureLoaded,
    isStale: mirror.isStale,
    feedSilenceSeconds: mirror.feedSilenceSeconds,
    close: mirror.close,
    /** Adds a raw entry (durably, then here; other instances hear it from the feed). */
    revoke: mirror.add,

    /** Revokes one token until the last moment any verifier could accept it (`exp` plus the largest leeway). */
    revokeToken(claims: { readonly jti: string; readonly exp: number }): Promise<void> {
      return mirror.add({ kind: 'jti', value: claims.jti, expiresAt: (claims.exp + MAX_LEEWAY_SECONDS) * 1000 });
    },

    /**
     * Revokes every token of a session or login issued up to now: the entry lives until the last of
     * them could still be accepted (a token lifetime from now, plus the largest leeway).
     */
    revokeSession(sid: string): Promise<void> {
      return mirror.add({ kind: 'sid', value: sid, expiresAt: clock.now() + (ttlSeconds + MAX_LEEWAY_SECONDS) * 1000 });
    },

    /**
     * How long a session's record is kept after the session ends: a token never outlives its
     * session (see `issue`), but a verifier accepts it for its leeway after `exp`.
     */
    retainMs: MAX_LEEWAY_SECONDS * 1000,

    /** An access token for session `sid`, which ends at `sessionEndsAt` (epoch ms): the token expires by then. */
    issue(identity: Identity, sid: string, sessionEndsAt: number) {
      return issuer.issue({
        sub: identity.id,
        aud: audience,
        claims: { client_id: clientId, sid, roles: [...identity.roles], ...(identity.name !== undefined && { name: identity.name }) },
        notAfter: Math.floor(sessionEndsAt / 1000),
      });
    },

    /**
     * A short-lived token for one other service (`aud`), on behalf of the user of session `sid`:
     * it dies with the session like any access token, and lives at most a minute.
     */
    issueService(identity: Identity, sid: string, sessionEndsAt: number, audience: string, scope: string | undefined) {
      const claims = { client_id: clientId, sid, roles: [...identity.roles], ...(identity.name !== undefined && { name: identity.name }), ...(scope && { scope }) };
      return issuer.issue({ sub: identity.id, aud: audience, claims, ttlSeconds: Math.min(60, ttlSeconds), notAfter: Math.floor(sessionEndsAt / 1000) });
    },
  };
}
