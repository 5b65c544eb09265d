import { createHmac, type KeyObject, sign } from 'node:crypto';
import {
  createKeyRing,
  createTokenIssuer,
  createVerifier,
  generateJwk,
  importKey,
  type Algorithm,
} from '../../packages/tessera-auth/src/tokens/index.js';
import type { TokenKey } from '../../packages/tessera-auth/src/tokens/keys.js';

export const ISSUER = 'https://id.example';
export const AUDIENCE = 'api';

const b64 = (value: string | Buffer) => (typeof value === 'string' ? Buffer.from(value) : value).toString('base64url');

/** Builds a token by hand, as an attacker would: any header, any payload, any signature. */
export function forge(header: object | string, payload: object | string, signer: (input: string) => Buffer | string = () => ''): string {
  const h = b64(typeof header === 'string' ? header : JSON.stringify(header));
  const p = b64(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const signature = signer(`${h}.${p}`);
  return `${h}.${p}.${typeof signature === 'string' ? signature : b64(signature)}`;
}

export const hmacWith =
  (secret: Buffer | string, hash = 'sha256') =>
  (input: string) =>
    createHmac(hash, secret).update(input).digest();
export const signWith = (key: KeyObject, alg: Algorithm) => (input: string) =>
  alg === 'ES256'
    ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key)
      : sign(null, Buffer.from(input), key);

export function validClaims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, sub: 'user-1', aud: AUDIENCE, iat: now, exp: now + 300, jti: 'j1', ...overrides };
}

/** A ring with one fresh active key of `alg`, an issuer and a verifier (cache off unless asked). */
export function setup(alg: Algorithm, options: { cacheSize?: number } = {}) {
  const key: TokenKey = importKey({ alg, key: generateJwk(alg), ...(alg.startsWith('HS') && { kid: `${alg}-key` }) });
  const keys = createKeyRing([{ key, status: 'active' }]);
  const issuer = createTokenIssuer({ keys, issuer: ISSUER, ttlSeconds: 300 });
  const verify = createVerifier({ keys, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, cacheSize: options.cacheSize ?? 0 });
  const header = { alg, kid: key.kid, typ: 'at+jwt' };
  const issue = (claims?: Record<string, unknown>) => issuer.issue({ sub: 'user-1', aud: AUDIENCE, ...(claims && { claims }) }).token;
  return { key, keys, verify, header, issue };
}
