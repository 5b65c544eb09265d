import { createHash } from 'node:crypto';
import type { Clock } from 'tessera-auth';
import { createTokenIssuer, type KeyRing } from 'tessera-auth/tokens';

/** The hash OpenID Connect's `at_hash` uses with each signing algorithm (Core §3.1.3.6; SHA-512 for Ed25519). */
const HALF_HASH: Record<string, string> = { EdDSA: 'sha512', ES256: 'sha256', RS256: 'sha256', HS256: 'sha256', HS512: 'sha512' };

/** The left half of the access token's hash, under the hash of the ID token's algorithm `alg`. */
export function accessTokenHash(accessToken: string, alg: string): string {
  const digest = createHash(HALF_HASH[alg] ?? 'sha256')
    .update(accessToken, 'ascii')
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** What an ID token says of one sign-in, for one client. */
export interface IdTokenInput {
  readonly sub: string;
  readonly clientId: string;
  /** Epoch ms of the sign-in. */
  readonly authTime: number;
  /** The session the client's tokens belong to: back-channel logout names it. */
  readonly sid: string;
  readonly nonce?: string | undefined;
  readonly accessToken: string;
  readonly name?: string | undefined;
}

/** OpenID Connect ID tokens, signed with the server's keys (`typ: JWT`), five minutes long. */
export function createIdTokenIssuer(keys: KeyRing, issuer: string, clock: Clock) {
  const tokens = createTokenIssuer({ keys, issuer, ttlSeconds: 300, typ: 'JWT', clock });
  return (input: IdTokenInput): string =>
    tokens.issue({
      sub: input.sub,
      aud: input.clientId,
      claims: {
        auth_time: Math.floor(input.authTime / 1000),
        sid: input.sid,
        at_hash: accessTokenHash(input.accessToken, keys.signingKey().alg),
        azp: input.clientId,
        ...(input.nonce !== undefined && { nonce: input.nonce }),
        ...(input.name !== undefined && { preferred_username: input.name }),
      },
    }).token;
}
