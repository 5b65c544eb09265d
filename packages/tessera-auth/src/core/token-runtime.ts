import type { EventEmitter } from 'node:events';
import type { RevocationEntry } from '../base/types.js';
import type { RevocableClaims } from '../revocation/revocation-list.js';
import type { RevocationEvents, RevocationMirror } from '../revocation/revocation-mirror.js';
import { followRevokedKeys } from '../revocation/revoked-keys.js';
import { markKeyRevoked, type KeyRing } from '../tokens/key-ring.js';
import { createTokenIssuer, type IssuedToken } from '../tokens/sign.js';
import { createVerifier, MAX_LEEWAY_SECONDS, type Verifier } from '../tokens/verify.js';
import type { Clock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import type { Identity } from '../base/types.js';
import { createDpopVerifier, DPOP_ALGORITHMS, type DpopAlgorithm, type DpopNonces, type DpopVerifier } from '../tokens/dpop.js';

/**
 * How long a key revocation lasts at least: beyond the JWKS's cache lifetime (5 minutes) and a
 * remote key set's refetch, with room for fetches that fail (they keep the old keys).
 */
const KEY_REVOCATION_SECONDS = 3600;

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
  /** Sender-constrained tokens (RFC 9449 DPoP), for the stateless and hybrid strategies. */
  dpop?: DpopOptions;
}

/**
 * - `off`: tokens are bearer tokens (a token or refresh handle bound earlier still needs its proofs);
 * - `allowed`: a login or refresh that carries a valid `DPoP` proof gets a token bound to the
 *   proof's key (`cnf.jkt`), and in hybrid a refresh handle bound to it too; others get bearer tokens;
 * - `required`: logins and refreshes without a proof are refused, and bearer tokens are not accepted.
 */
export type DpopMode = 'off' | 'allowed' | 'required';

/** The `tokens.dpop` options of `createAuth`. */
export interface DpopOptions {
  /** Default `off`. */
  mode?: DpopMode;
  /**
   * The origin clients address this server at, which proofs name in `htu` (default: the origin of
   * `tokens.issuer`). Never taken from the request's Host header, which a client chooses.
   */
  origin?: string;
  /**
   * Server nonces (`createDpopNonces` with a secret every instance shares): a proof must carry a
   * recent one, which ties its freshness to the server's clock; a captured proof is good at
   * another instance only while its nonce (and `iat`) are. Without them, `iat` alone bounds proofs.
   */
  nonces?: DpopNonces;
  /** Accepted proof algorithms (default `DPOP_ALGORITHMS`: EdDSA, Ed25519, ES256, RS256). */
  algorithms?: readonly DpopAlgorithm[];
  /** How old a proof may be, in seconds (default 60). */
  maxAgeSeconds?: number;
  /** Proof ids each instance remembers against replay (default 100,000). */
  replayCacheSize?: number;
}

/** DPoP as a token runtime resolved it. */
export interface DpopSettings {
  readonly mode: DpopMode;
  /** `scheme://host[:port]` that proofs' `htu` must start with (none: DPoP off, an issuer that is no URL). */
  readonly origin: string | undefined;
  readonly algorithms: readonly DpopAlgorithm[];
  readonly verify: DpopVerifier;
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
  /** DPoP: whether tokens are bound to the client's key, and the proof algorithms accepted. */
  readonly dpop: { readonly mode: DpopMode; readonly algorithms: readonly DpopAlgorithm[] };
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
  /**
   * Verifies a credential this server signs (`verify`: an access-token verifier, or one of another
   * kind such as a device cookie's) and checks it against this instance's revocation list, the key
   * that verified it included: 503 when the copy is stale, 401 `token_revoked` when revoked.
   */
  verified<Claims extends RevocableClaims>(token: unknown, verify: (token: unknown) => Claims): Claims;
  /** Revokes by a raw entry: durably, then here; other instances hear it from the feed. */
  revoke(entry: RevocationEntry): Promise<void>;
  /**
   * Revokes every token signed by key `kid`, those a thief of the key signs included: for an hour
   * (or the token lifetime, if longer), as long as a verifier may still hold the key. Renew it (call
   * again) while the key stays revoked, as the identity server does.
   */
  revokeKey(kid: string): Promise<void>;
  /**
   * A short-lived token for one other service (`audience`), on behalf of the user of session
   * `sessionId`, which ends at `sessionEndsAt` (epoch ms): it dies with the session like any
   * access token, and lives at most a minute. With `jkt`, it is bound to that DPoP key like the
   * token of the request that asked for it.
   */
  issueService(
    identity: Identity,
    sessionId: string,
    sessionEndsAt: number,
    audience: string,
    scope: string | undefined,
    jkt?: string,
  ): IssuedToken;
  /**
   * A token for OAuth client `clientId` itself (the client credentials grant), for one other
   * service (`audience`): `sub` and `client_id` are the client; no session, no roles. It lives the
   * access-token lifetime at most 5 minutes, and is revoked by its `jti` (RFC 7009) or its key.
   */
  issueForClient(clientId: string, audience: string, scope: string | undefined, jkt?: string): IssuedToken;
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
  /** Revokes one token until the last moment any verifier could accept it (`exp` plus the largest leeway). */
  revokeToken(claims: { readonly jti: string; readonly exp: number }): Promise<void>;
  /** DPoP proof checks, with the origin proofs must name. */
  readonly dpopSettings: DpopSettings;
  /**
   * An access token for session `sid`, which ends at `sessionEndsAt` (epoch ms): the token expires
   * by then. With `jkt`, bound to that DPoP key (`cnf.jkt`); with `client`, issued to that OAuth
   * client (`client_id`, default `clientId`).
   */
  issue(identity: Identity, sid: string, sessionEndsAt: number, jkt?: string, client?: string): IssuedToken;
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
  const claimsOf = (identity: Identity, sid: string, jkt: string | undefined, client = clientId) => ({
    client_id: client,
    sid,
    roles: [...identity.roles],
    ...(identity.name !== undefined && { name: identity.name }),
    ...(jkt !== undefined && { cnf: { jkt } }),
  });
  const dpopSettings = resolveDpop(options.dpop ?? {}, options.issuer, clock);
  // A key revoked at any instance stops signing and leaves this one's JWKS on the event.
  followRevokedKeys(mirror, (kid) => markKeyRevoked(options.keys, kid));
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
    dpop: { mode: dpopSettings.mode, algorithms: dpopSettings.algorithms },
    dpopSettings,
    get loaded() {
      return mirror.loaded;
    },
    revocations: mirror,
    events: mirror.events,
    verified: mirror.verified,
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
      // A revoked key may be a stolen one, whose thief signs new tokens: the entry lives as long as
      // a verifier may still hold the key (JWKS caches, remote key sets between fetches), at least
      // an hour whatever the token lifetime; whoever revoked it renews it while the key stays revoked.
      const seconds = Math.max(ttlSeconds, KEY_REVOCATION_SECONDS) + MAX_LEEWAY_SECONDS;
      return mirror.add({ kind: 'kid', value: kid, expiresAt: clock.now() + seconds * 1000 });
    },

    issue(identity, sid, sessionEndsAt, jkt, client) {
      const claims = claimsOf(identity, sid, jkt, client);
      return issuer.issue({ sub: identity.id, aud: audience, claims, notAfter: Math.floor(sessionEndsAt / 1000) });
    },

    issueForClient(client, serviceAudience, scope, jkt) {
      const claims = { client_id: client, ...(scope && { scope }), ...(jkt !== undefined && { cnf: { jkt } }) };
      return issuer.issue({ sub: client, aud: serviceAudience, claims, ttlSeconds: Math.min(300, ttlSeconds) });
    },

    issueService(identity, sid, sessionEndsAt, serviceAudience, scope, jkt) {
      const claims = { ...claimsOf(identity, sid, jkt), ...(scope && { scope }) };
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
  const { issuer, audience, clientId, ttlSeconds, cookie, dpop, events, ensureLoaded, feedSilenceSeconds, isStale } = runtime;
  const { revocationSnapshot, verified, revoke, revokeKey, issueService, issueForClient } = runtime;
  return {
    issuer,
    audience,
    clientId,
    ttlSeconds,
    cookie,
    dpop,
    events,
    ensureLoaded,
    feedSilenceSeconds,
    isStale,
    revocationSnapshot,
    verified,
    revoke,
    revokeKey,
    issueService,
    issueForClient,
  };
}

function resolveDpop(options: DpopOptions, issuer: string, clock: Clock): DpopSettings {
  const mode = options.mode ?? 'off';
  if (mode !== 'off' && mode !== 'allowed' && mode !== 'required')
    throw new ConfigError('tokens.dpop.mode must be "off", "allowed" or "required".');
  let origin: string | undefined;
  try {
    origin = new URL(options.origin ?? issuer).origin;
  } catch {
    // An issuer that is not a URL is fine until proofs must name this server.
    if (mode !== 'off' || options.origin !== undefined)
      throw new ConfigError('tokens.dpop.origin (or tokens.issuer) must be a URL: DPoP proofs name it.');
  }
  const algorithms = [...(options.algorithms ?? DPOP_ALGORITHMS)];
  const verify = createDpopVerifier({
    algorithms,
    clock,
    ...(options.nonces && { nonces: options.nonces }),
    ...(options.maxAgeSeconds !== undefined && { maxAgeSeconds: options.maxAgeSeconds }),
    ...(options.replayCacheSize !== undefined && { replayCacheSize: options.replayCacheSize }),
  });
  return { mode, origin, algorithms, verify };
}
