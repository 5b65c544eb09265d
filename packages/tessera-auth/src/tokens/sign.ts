import { randomBytes } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import { encodeBase64url } from './base64url.js';
import type { KeyRing } from './key-ring.js';
import { signBytes, type TokenKey } from './keys.js';

const encodedHeaders = new WeakMap<TokenKey, Map<string, string>>();

/** The encoded protected header for a key and token type, computed once. */
function encodedHeader(key: TokenKey, typ: string): string {
  let byTyp = encodedHeaders.get(key);
  if (!byTyp) encodedHeaders.set(key, (byTyp = new Map()));
  let header = byTyp.get(typ);
  if (header === undefined) byTyp.set(typ, (header = encodeBase64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ }))));
  return header;
}

/** Signs a JWS compact token over `claims` with `key`, in a header of its own making. */
export function signJwt(key: TokenKey, claims: Record<string, unknown>, typ: string): string {
  const header = encodedHeader(key, typ);
  const input = `${header}.${encodeBase64url(JSON.stringify(claims))}`;
  return `${input}.${signBytes(key, Buffer.from(input, 'latin1')).toString('base64url')}`;
}

/** What a token issuer signs with and sets in every token. */
export interface TokenIssuerOptions {
  keys: KeyRing;
  issuer: string;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** Header `typ` (default `at+jwt`, RFC 9068 access tokens). */
  typ?: string;
  clock?: Clock;
}

/** One token's subject, audience and claims. */
export interface IssueInput {
  sub: string;
  aud: string | readonly string[];
  /** Other claims (sid, roles, scope …); the registered claims above always win. */
  claims?: Record<string, unknown>;
  ttlSeconds?: number;
  /** Epoch seconds the token may not outlive (its session's end): `exp` is the earlier of this and the lifetime. */
  notAfter?: number;
}

/** A signed token and what its holder is told of it. */
export interface IssuedToken {
  readonly token: string;
  readonly jti: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Seconds from now (RFC 6749 `expires_in`). */
  readonly expiresIn: number;
}

/** Signs tokens (see `createTokenIssuer`). */
export interface TokenIssuer {
  /** Signs a token with the ring's active key. */
  issue(input: IssueInput): IssuedToken;
}

/** Issues tokens with `iss sub aud exp iat jti` set consistently, signed by the ring's active key. */
export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const clock = options.clock ?? systemClock;
  const typ = options.typ ?? 'at+jwt';
  if (!Number.isFinite(options.ttlSeconds) || options.ttlSeconds <= 0) throw new ConfigError('ttlSeconds must be positive.');

  return {
    issue(input: IssueInput): IssuedToken {
      const iat = Math.floor(clock.now() / 1000);
      const exp = Math.min(iat + Math.ceil(input.ttlSeconds ?? options.ttlSeconds), input.notAfter ?? Infinity);
      // 96 bits: unique beyond any real issuance volume (RFC 7519 §4.1.7), 16 characters in every token.
      const jti = randomBytes(12).toString('base64url');
      const token = signJwt(
        options.keys.signingKey(),
        {
          ...input.claims,
          iss: options.issuer,
          sub: input.sub,
          aud: input.aud,
          exp,
          iat,
          jti,
        },
        typ,
      );
      return { token, jti, expiresAt: exp * 1000, expiresIn: Math.max(0, exp - iat) };
    },
  };
}
