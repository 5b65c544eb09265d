import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { KeyInvalidError } from '../base/errors.js';
import { decodeBase64url } from './base64url.js';

/**
 * A JSON Web Key (RFC 7517): the members Tessera reads, and any others. Tessera's own type:
 * the `crypto.JsonWebKey` of Node's type definitions moved between their versions.
 */
export interface JsonWebKey {
  kty?: string;
  crv?: string;
  alg?: string;
  kid?: string;
  use?: string;
  x?: string;
  y?: string;
  d?: string;
  n?: string;
  e?: string;
  k?: string;
  [member: string]: unknown;
}

/** The signing algorithms Tessera issues and accepts (`none` and every other one are refused). */
export type Algorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256' | 'HS512';
/** Every `Algorithm`, for option parsing and help texts. */
export const ALGORITHMS: readonly Algorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256', 'HS512'];

/** A key bound to exactly one algorithm when it was imported; the binding never changes. */
export interface TokenKey {
  readonly kid: string;
  readonly alg: Algorithm;
  /** The private key or secret; absent on verification-only keys (from a remote JWKS). */
  readonly signingKey?: KeyObject | undefined;
  /** The public key, or the secret for HMAC. */
  readonly verificationKey: KeyObject;
  /** Exact signature length in bytes: anything else is refused before any cryptography. */
  readonly signatureBytes: number;
}

/** A key to import: its algorithm, its id and the key material (a JWK, a KeyObject, PEM or a secret). */
export interface KeyInput {
  alg: Algorithm;
  /** Default: the RFC 7638 thumbprint for asymmetric keys; required for HMAC secrets. */
  kid?: string;
  /**
   * A JWK (private or public), a KeyObject, a PEM string (asymmetric only), or a Buffer (HMAC
   * secrets only). A string is never taken as an HMAC secret: that is how a public key in PEM form
   * becomes a forging key in the classic algorithm-confusion attack.
   */
  key: JsonWebKey | KeyObject | string | Buffer;
}

const HMAC_HASH = { HS256: 'sha256', HS512: 'sha512' } as const;
/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_BYTES = { HS256: 32, HS512: 64 } as const;

const isHmac = (alg: Algorithm): alg is 'HS256' | 'HS512' => alg === 'HS256' || alg === 'HS512';

function toKeyObject(alg: Algorithm, key: KeyInput['key']): KeyObject {
  try {
    if (key instanceof KeyObject) return key;
    if (Buffer.isBuffer(key)) {
      if (!isHmac(alg)) throw new KeyInvalidError(`A raw secret cannot be an ${alg} key.`);
      return createSecretKey(key);
    }
    if (typeof key === 'string') {
      if (isHmac(alg)) throw new KeyInvalidError('An HMAC secret must be given as bytes or a JWK, never as a string.');
      return key.includes('PRIVATE KEY') ? createPrivateKey(key) : createPublicKey(key);
    }
    if (key.kty === 'oct') {
      const bytes = typeof key.k === 'string' ? decodeBase64url(key.k) : undefined;
      if (!bytes) throw new KeyInvalidError('An "oct" JWK needs a base64url "k".');
      return createSecretKey(bytes);
    }
    return key.d === undefined ? createPublicKey({ key, format: 'jwk' }) : createPrivateKey({ key, format: 'jwk' });
  } catch (error) {
    if (error instanceof KeyInvalidError) throw error;
    throw new KeyInvalidError(`The ${alg} key could not be read.`);
  }
}

/** Checks that the key is of the one type its algorithm allows, and strong enough. */
function checkBinding(alg: Algorithm, key: KeyObject): void {
  const fail = (why: string) => {
    throw new KeyInvalidError(`Not a valid ${alg} key: ${why}.`);
  };
  if (isHmac(alg)) {
    if (key.type !== 'secret') fail('HMAC needs a secret key');
    if ((key.symmetricKeySize ?? 0) < HMAC_MIN_BYTES[alg]) fail(`the secret must be at least ${HMAC_MIN_BYTES[alg]} bytes`);
    return;
  }
  if (key.type === 'secret') fail('an asymmetric algorithm needs a key pair');
  const details = key.asymmetricKeyDetails ?? {};
  if (alg === 'EdDSA' && key.asymmetricKeyType !== 'ed25519') fail('EdDSA keys must be Ed25519');
  if (alg === 'ES256' && (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1')) fail('ES256 keys must be P-256');
  if (alg === 'RS256' && (key.asymmetricKeyType !== 'rsa' || (details.modulusLength ?? 0) < 2048))
    fail('RS256 keys must be RSA of at least 2048 bits');
}

/** RFC 7638 JWK thumbprint: a kid derived from the public key itself. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members =
    jwk.kty === 'OKP'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** Imports a key for signing (private or secret) or verifying (public), bound to its algorithm. */
export function importKey(input: KeyInput): TokenKey {
  const { alg } = input;
  if (!(ALGORITHMS as readonly string[]).includes(alg)) throw new KeyInvalidError(`Unsupported algorithm ${JSON.stringify(alg)}.`);
  const keyObject = toKeyObject(alg, input.key);
  checkBinding(alg, keyObject);
  const jwkAlg =
    typeof input.key === 'object' && !(input.key instanceof KeyObject) && !Buffer.isBuffer(input.key) ? input.key.alg : undefined;
  if (jwkAlg !== undefined && jwkAlg !== alg) throw new KeyInvalidError(`The JWK says "alg": ${JSON.stringify(jwkAlg)}, not ${alg}.`);

  if (isHmac(alg)) {
    if (!input.kid) throw new KeyInvalidError('An HMAC key needs an explicit kid.');
    return { kid: input.kid, alg, signingKey: keyObject, verificationKey: keyObject, signatureBytes: HMAC_MIN_BYTES[alg] };
  }
  const isPrivate = keyObject.type === 'private';
  const publicKey = isPrivate ? createPublicKey(keyObject) : keyObject;
  const signatureBytes = alg === 'RS256' ? (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8 : 64;
  return {
    kid: input.kid ?? jwkThumbprint(publicKey),
    alg,
    signingKey: isPrivate ? keyObject : undefined,
    verificationKey: publicKey,
    signatureBytes,
  };
}

/**
 * A fresh key pair, returned as DER and re-imported. Node 20 can deadlock when a key straight out
 * of generateKeyPairSync is exported as a JWK: the export holds the key's lock while allocating,
 * the allocation runs a GC, and the GC finalizes the key-generation job, which takes the same
 * lock. Re-imported keys share nothing with that job.
 */
export function generateKeyPairObjects(
  type: 'ed25519' | 'ec' | 'rsa',
  options: { namedCurve?: string; modulusLength?: number } = {},
): { privateKey: KeyObject; publicKey: KeyObject } {
  const reimport = (pair: { privateKey: Buffer; publicKey: Buffer }) => ({
    privateKey: createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }),
  });
  const privateKeyEncoding = { format: 'der', type: 'pkcs8' } as const;
  const publicKeyEncoding = { format: 'der', type: 'spki' } as const;
  if (type === 'ec') {
    return reimport(generateKeyPairSync('ec', { namedCurve: options.namedCurve ?? 'prime256v1', privateKeyEncoding, publicKeyEncoding }));
  }
  if (type === 'rsa') {
    return reimport(generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048, privateKeyEncoding, publicKeyEncoding }));
  }
  return reimport(generateKeyPairSync('ed25519', { privateKeyEncoding, publicKeyEncoding }));
}

/**
 * Characters of a generated key's kid: every token's header carries it, and it only has to tell
 * apart the few keys one issuer publishes at a time (48 bits; a ring refuses two keys with one kid).
 */
const GENERATED_KID_LENGTH = 8;

/**
 * A new private JWK for `alg`, with its alg and a short kid set: the start of its RFC 7638
 * thumbprint (a random one for HMAC secrets, which have no public half).
 */
export function generateJwk(alg: Algorithm): JsonWebKey & { kid: string; alg: Algorithm } {
  if (isHmac(alg)) {
    return { kty: 'oct', k: randomBytes(HMAC_MIN_BYTES[alg]).toString('base64url'), kid: randomBytes(6).toString('base64url'), alg };
  }
  const { privateKey, publicKey } = generateKeyPairObjects(alg === 'EdDSA' ? 'ed25519' : alg === 'ES256' ? 'ec' : 'rsa');
  return { ...privateKey.export({ format: 'jwk' }), kid: jwkThumbprint(publicKey).slice(0, GENERATED_KID_LENGTH), alg };
}

/** The public half as a JWK for a JWKS; HMAC secrets have none and are never published. */
/** A verification key as the JWKS publishes it. */
export type PublicJwk = JsonWebKey & { kid: string; alg: Algorithm; use: 'sig' };

/** The key's public JWK for the JWKS; undefined for HMAC secrets, which are never published. */
export function publicJwk(key: TokenKey): PublicJwk | undefined {
  if (isHmac(key.alg)) return undefined;
  return { ...key.verificationKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' };
}

export function signBytes(key: TokenKey, data: Buffer): Buffer {
  if (!key.signingKey) throw new KeyInvalidError(`Key ${key.kid} can verify but not sign.`);
  switch (key.alg) {
    case 'HS256':
    case 'HS512':
      return createHmac(HMAC_HASH[key.alg], key.signingKey).update(data).digest();
    case 'EdDSA':
      return sign(null, data, key.signingKey);
    case 'ES256':
      return sign('sha256', data, { key: key.signingKey, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', data, key.signingKey);
  }
}

/** The caller has already checked the signature length against `key.signatureBytes`. */
export function verifyBytes(key: TokenKey, data: Buffer, signature: Buffer): boolean {
  switch (key.alg) {
    case 'HS256':
    case 'HS512':
      // Constant time: a comparison that stops at the first wrong byte leaks the MAC byte by byte.
      return timingSafeEqual(createHmac(HMAC_HASH[key.alg], key.verificationKey).update(data).digest(), signature);
    case 'EdDSA':
      return verify(null, data, key.verificationKey, signature);
    case 'ES256':
      return verify('sha256', data, { key: key.verificationKey, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return verify('sha256', data, key.verificationKey, signature);
  }
}
