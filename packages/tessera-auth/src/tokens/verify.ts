import { hash } from 'node:crypto';
import { systemClock, type Clock } from '../base/clock.js';
import { rememberVerifyingKey } from '../base/verifying-key.js';
import {
  ConfigError,
  TokenClaimError,
  TokenExpiredError,
  TokenInvalidError,
  TokenKeyUnknownError,
  TokenRevokedError,
  TokenNotYetValidError,
  TokenSignatureError,
} from '../base/errors.js';
import { decodeBase64url } from './base64url.js';
import { parseJsonObject } from './json-object.js';
import type { KeyRing } from './key-ring.js';
import { ALGORITHMS, verifyBytes, type Algorithm, type TokenKey } from './keys.js';

/** The claims of a verified token: the registered ones typed, the rest as they came. */
export interface TokenClaims {
  readonly iss?: string;
  readonly sub: string;
  readonly aud?: string | readonly string[];
  readonly exp: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly [claim: string]: unknown;
}

/** What a verifier accepts: keys, the token type, issuer and audience, clock and leeway. */
export interface VerifierOptions {
  keys: KeyRing;
  /**
   * The token kind expected in the header `typ` (e.g. `at+jwt`); any other kind is refused. `null`
   * for issuers that set none: a token without `typ` (or the generic `JWT`) is accepted, and one
   * that names a kind (`at+jwt`, a device token) is still refused (RFC 8725 §3.11).
   */
  typ: string | null;
  /** Required `iss`, if set. */
  issuer?: string;
  /** Accepted audiences: the token's `aud` must contain one of them, if set. */
  audience?: string | readonly string[];
  /** Clock skew allowed on exp, nbf and iat, in seconds (default 5, at most `MAX_LEEWAY_SECONDS`: 60). */
  leewaySeconds?: number;
  /** Longest token accepted, in characters (default 8192), checked before any decoding. */
  maxTokenBytes?: number;
  /** Whether `sub` must be present (default true: access tokens always name their subject). */
  requireSubject?: boolean;
  /** Verified-token cache size (default 10 000 entries); 0 turns it off. */
  cacheSize?: number;
  clock?: Clock;
}

/** Verifies a token and returns its claims; throws a `TokenError` saying why it was refused. */
export type Verifier = (token: unknown) => TokenClaims;

interface ParsedHeader {
  readonly alg: Algorithm;
  readonly kid: string | undefined;
  readonly typ: string | undefined;
}

interface CachedToken {
  readonly claims: TokenClaims;
  readonly key: TokenKey;
  readonly expiresAtMs: number;
}

/** Header members that would let a token choose its own key or change how it is processed. */
const FORBIDDEN_HEADER_MEMBERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'b64'] as const;
const HEADER_CACHE_SIZE = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `application/at+jwt` and `at+jwt` name the same type (RFC 7515 §4.1.9), case-insensitively. */
const normalizeTyp = (typ: string) => typ.toLowerCase().replace(/^application\//, '');

function parseHeader(segment: string): ParsedHeader {
  const bytes = decodeBase64url(segment);
  if (!bytes || bytes.length > 1024) throw new TokenInvalidError('malformed header');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new TokenInvalidError('malformed header');
  }
  const header = parseJsonObject(text);
  if (!header) throw new TokenInvalidError('malformed header');
  // "none" in any spelling, and every algorithm we do not implement, stop here.
  if (!(ALGORITHMS as readonly unknown[]).includes(header.alg)) throw new TokenInvalidError('unsupported algorithm');
  for (const member of FORBIDDEN_HEADER_MEMBERS) {
    if (member in header) throw new TokenInvalidError(`header member "${member}" is not accepted`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new TokenInvalidError('malformed kid');
  if (header.typ !== undefined && typeof header.typ !== 'string') throw new TokenInvalidError('malformed typ');
  return { alg: header.alg as Algorithm, kid: header.kid, typ: header.typ === undefined ? undefined : normalizeTyp(header.typ) };
}

/** A token naming a key the ring holds as revoked is revoked, not merely of an unknown key (which would prompt a refetch). */
const isRevokedKey = (keys: KeyRing, kid: string | undefined) =>
  kid !== undefined && keys.entries.some((entry) => entry.key.kid === kid && entry.status === 'revoked');

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * The largest clock-skew allowance any verifier accepts. A revocation entry outlives the tokens it
 * kills by this much, so no verifier, whatever its leeway, accepts one after its entry is gone.
 */
export const MAX_LEEWAY_SECONDS = 60;

/**
 * Builds a verifier: every option is checked here, once; the returned function does only the
 * per-token work. Order: size cap, shape, header (alg bound to the key, forbidden members, typ),
 * signature, then claims. Nothing is decoded before the size check, nothing from the payload is
 * trusted before the signature.

 *
 * @example
 * ```ts
 * const verify = createVerifier({ keys: remote.ring, typ: 'at+jwt', issuer: 'https://id.example.com', audience: 'orders' });
 * const claims = verify(token); // throws a TokenError when refused
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const clock = options.clock ?? systemClock;
  const leeway = options.leewaySeconds ?? 5;
  if (!isNumber(leeway) || leeway < 0 || leeway > MAX_LEEWAY_SECONDS)
    throw new ConfigError(`leewaySeconds must be between 0 and ${MAX_LEEWAY_SECONDS}.`);
  const maxTokenBytes = options.maxTokenBytes ?? 8192;
  if (options.typ !== null && (typeof options.typ !== 'string' || options.typ === '')) {
    throw new ConfigError('typ must name the expected token type (e.g. "at+jwt"), or be null for tokens that carry none.');
  }
  const untyped = options.typ === null;
  const expectedTyp = options.typ === null ? undefined : normalizeTyp(options.typ);
  const audiences =
    options.audience === undefined ? undefined : new Set(typeof options.audience === 'string' ? [options.audience] : options.audience);
  if (audiences?.size === 0) throw new ConfigError('audience must name at least one audience.');
  const requireSubject = options.requireSubject ?? true;
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = new Map<string, CachedToken>();
  const headers = new Map<string, ParsedHeader>();

  const headerOf = (segment: string): ParsedHeader => {
    let header = headers.get(segment);
    if (!header) {
      header = parseHeader(segment);
      if (headers.size >= HEADER_CACHE_SIZE) headers.delete(headers.keys().next().value as string);
      headers.set(segment, header);
    }
    return header;
  };

  const checkClaims = (claims: Record<string, unknown>, nowSeconds: number): TokenClaims => {
    if (!isNumber(claims.exp)) throw new TokenClaimError('exp');
    // exp is exclusive: the token is dead from that second on (RFC 7519 §4.1.4).
    if (nowSeconds >= claims.exp + leeway) throw new TokenExpiredError();
    if (claims.nbf !== undefined) {
      if (!isNumber(claims.nbf)) throw new TokenClaimError('nbf');
      if (nowSeconds + leeway < claims.nbf) throw new TokenNotYetValidError();
    }
    if (claims.iat !== undefined && (!isNumber(claims.iat) || claims.iat > nowSeconds + leeway)) throw new TokenClaimError('iat');
    if (claims.sub !== undefined ? typeof claims.sub !== 'string' || claims.sub === '' : requireSubject) throw new TokenClaimError('sub');
    if (claims.jti !== undefined && typeof claims.jti !== 'string') throw new TokenClaimError('jti');
    if (options.issuer !== undefined && claims.iss !== options.issuer) throw new TokenClaimError('iss');
    if (audiences) {
      const aud = claims.aud;
      const accepted =
        typeof aud === 'string'
          ? audiences.has(aud)
          : Array.isArray(aud) && aud.every((a) => typeof a === 'string') && aud.some((a: string) => audiences.has(a));
      if (!accepted) throw new TokenClaimError('aud');
    }
    if (Array.isArray(claims.aud)) Object.freeze(claims.aud);
    return Object.freeze(claims) as TokenClaims;
  };

  return function verifyToken(token: unknown): TokenClaims {
    if (typeof token !== 'string') throw new TokenInvalidError('not a string');
    if (token.length > maxTokenBytes) throw new TokenInvalidError(`longer than ${maxTokenBytes} characters`);
    const nowMs = clock.now();

    // A cache hit returns only what a fresh verification would: the key must still verify, and
    // the token must still be inside its lifetime. The key is a hash, so no token is kept.
    const cacheKey = cacheSize > 0 ? hash('sha256', token, 'base64url') : '';
    if (cacheSize > 0) {
      const hit = cache.get(cacheKey);
      if (hit) {
        if (hit.expiresAtMs > nowMs && options.keys.verificationKey(hit.key.kid, nowMs) === hit.key) return hit.claims;
        cache.delete(cacheKey);
      }
    }

    const firstDot = token.indexOf('.');
    const secondDot = token.indexOf('.', firstDot + 1);
    if (firstDot <= 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) !== -1) throw new TokenInvalidError('not a JWS compact token');

    const header = headerOf(token.slice(0, firstDot));
    const key = options.keys.verificationKey(header.kid, nowMs);
    if (!key) throw isRevokedKey(options.keys, header.kid) ? new TokenRevokedError() : new TokenKeyUnknownError();
    // The header's alg is compared with the key's, never used to choose how to verify.
    if (header.alg !== key.alg) throw new TokenInvalidError('algorithm does not match the key');
    if (header.typ !== expectedTyp && !(untyped && header.typ === 'jwt')) throw new TokenClaimError('typ');

    const signature = decodeBase64url(token.slice(secondDot + 1));
    if (!signature || signature.length !== key.signatureBytes) throw new TokenSignatureError();
    if (!verifyBytes(key, Buffer.from(token.slice(0, secondDot), 'latin1'), signature)) throw new TokenSignatureError();

    const payload = decodeBase64url(token.slice(firstDot + 1, secondDot));
    let claims: Record<string, unknown> | undefined;
    try {
      claims = payload && parseJsonObject(utf8.decode(payload));
    } catch {
      claims = undefined;
    }
    if (!claims) throw new TokenInvalidError('malformed payload');
    const verified = checkClaims(claims, nowMs / 1000);
    rememberVerifyingKey(verified, key.kid);

    if (cacheSize > 0) {
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
      // Entries end at exp itself, without leeway: a hit is never more lenient than a fresh check.
      cache.set(cacheKey, { claims: verified, key, expiresAtMs: verified.exp * 1000 });
    }
    return verified;
  };
}
