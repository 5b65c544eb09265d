import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { ConfigError, DpopProofError, TesseraError, TokenInvalidError, UseDpopNonceError } from '../base/errors.js';
import { decodeBase64url } from './base64url.js';
import { parseJsonObject } from './json-object.js';
import { importKey, jwkThumbprint, type TokenKey, verifyBytes } from './keys.js';

/**
 * The proof algorithms Tessera accepts: asymmetric only (a proof's key is the client's own).
 * `Ed25519` is RFC 9864's fully-specified name for EdDSA with Ed25519, which newer clients send.
 */
export type DpopAlgorithm = 'EdDSA' | 'Ed25519' | 'ES256' | 'RS256';
/** Every `DpopAlgorithm`, the default allow-list (and the metadata's `dpop_signing_alg_values_supported`). */
export const DPOP_ALGORITHMS: readonly DpopAlgorithm[] = ['EdDSA', 'Ed25519', 'ES256', 'RS256'];

/** Longest proof read: an RSA key in the header makes it about 1 KiB. */
const MAX_PROOF_BYTES = 4096;
/** Longest `jti` remembered: the replay cache holds hashes of this many characters at most. */
const MAX_JTI_LENGTH = 128;
/** Members of a private JWK: a proof's header key must be public. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** base64url of exactly `bytes` bytes, no padding. */
const b64url = (bytes: number) => new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`);
/** An RSA modulus of 2048 to 4096 bits: 256 to 512 bytes, the first one with its top bit set (no leading zeros). */
const RSA_MODULUS = /^[g-z0-9_-][A-Za-z0-9_-]{341,682}$/;
/** The members a proof key of each algorithm must have, and their exact form. */
const PROOF_KEY_SHAPES: Record<DpopAlgorithm, Record<string, RegExp>> = {
  EdDSA: { kty: /^OKP$/, crv: /^Ed25519$/, x: b64url(32) },
  Ed25519: { kty: /^OKP$/, crv: /^Ed25519$/, x: b64url(32) },
  ES256: { kty: /^EC$/, crv: /^P-256$/, x: b64url(32), y: b64url(32) },
  RS256: { kty: /^RSA$/, e: /^AQAB$/, n: RSA_MODULUS },
};

/** What a proof must match: the request it came with, and the token it presents, if any. */
export interface DpopRequest {
  /** The HTTP method, e.g. `GET`. */
  readonly method: string;
  /** The URL the client addressed, absolute (behind a proxy: the public one). */
  readonly url: string;
  /** The access token presented with the proof: the proof must carry its hash (`ath`). */
  readonly accessToken?: string | undefined;
}

/** How proofs are checked (RFC 9449 §4.3). */
export interface DpopVerifierOptions {
  /** Accepted proof algorithms (default: EdDSA, ES256, RS256). */
  algorithms?: readonly DpopAlgorithm[];
  /** How old a proof's `iat` may be, in seconds (default 60); one from the future is allowed 5 s of skew. */
  maxAgeSeconds?: number;
  /** Server nonces (`createDpopNonces`): with them, a proof must carry a current one. */
  nonces?: DpopNonces;
  /** Proof ids remembered against replay, per instance (default 100,000); the oldest go first. */
  replayCacheSize?: number;
  /** Clients' keys kept imported, by the proof header that carries them (default 4,096); the oldest go first. */
  keyCacheSize?: number;
  clock?: Clock;
}

/** What a valid proof establishes. */
export interface DpopProof {
  /** The JWK SHA-256 thumbprint of the proof's key (RFC 7638): what a bound token's `cnf.jkt` names. */
  readonly jkt: string;
  /** With server nonces, when the proof carried the previous one: the current one, to send as `DPoP-Nonce`. */
  readonly nextNonce?: string;
  /** When the client made the proof (its `iat`), epoch ms. */
  readonly issuedAt: number;
}

/** Verifies one DPoP proof for one request (see `createDpopVerifier`). */
export type DpopVerifier = (proof: string | undefined, request: DpopRequest) => DpopProof;

/**
 * RFC 9449 proof verification: `typ` `dpop+jwt`, an allowed asymmetric `alg`, the public key of
 * the header and nothing else, `htm` and `htu` (without query and fragment) of this request, `iat`
 * within the window, `ath` of the presented token, the server's nonce if there are nonces, and a
 * `jti` not seen before on this instance. Across instances the nonce bounds a replay's window.
 *
 * @example
 * ```ts
 * const verifyProof = createDpopVerifier({ nonces: createDpopNonces({ secret }) });
 * const { jkt } = verifyProof(req.get('dpop'), { method: req.method, url: publicUrl, accessToken });
 * ```
 */
export function createDpopVerifier(options: DpopVerifierOptions = {}): DpopVerifier {
  const algorithms = new Set<string>(options.algorithms ?? DPOP_ALGORITHMS);
  for (const alg of algorithms)
    if (!(DPOP_ALGORITHMS as readonly string[]).includes(alg)) throw new ConfigError(`DPoP does not allow ${alg}.`);
  const maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000;
  const clock = options.clock ?? systemClock;
  const seen = createReplayCache(options.replayCacheSize ?? 100_000);
  const headerKey = createHeaderKeys(algorithms, options.keyCacheSize ?? 4_096);

  return function verifyProof(proof, request) {
    if (typeof proof !== 'string' || proof.length === 0) throw new DpopProofError('no DPoP header');
    if (proof.length > MAX_PROOF_BYTES) throw new DpopProofError('too long');
    const parts = proof.split('.');
    if (parts.length !== 3) throw new DpopProofError('not a JWS compact token');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const { key, jkt } = headerKey(headerPart);
    const signature = decodeBase64url(signaturePart);
    if (!signature || signature.length !== key.signatureBytes) throw new DpopProofError('bad signature');
    if (!verifyBytes(key, Buffer.from(`${headerPart}.${payloadPart}`, 'latin1'), signature)) throw new DpopProofError('bad signature');

    const claims = jsonSegment(payloadPart);
    const { jti, htm, htu, iat, ath, nonce } = claims;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new DpopProofError('jti missing or too long');
    if (htm !== request.method) throw new DpopProofError('htm is not this request method');
    if (typeof htu !== 'string' || withoutQuery(htu) !== withoutQuery(request.url)) throw new DpopProofError('htu is not this request URL');
    const now = clock.now();
    if (typeof iat !== 'number' || iat * 1000 < now - maxAgeMs || iat * 1000 > now + 5_000)
      throw new DpopProofError('iat outside the window');
    if (request.accessToken !== undefined && ath !== createHash('sha256').update(request.accessToken).digest('base64url'))
      throw new DpopProofError('ath does not match the access token');
    const nonces = options.nonces;
    if (nonces && !(typeof nonce === 'string' && nonces.check(nonce))) throw new UseDpopNonceError(nonces.current());
    // Checked last: a proof refused for another reason must not use up its jti.
    if (!seen.add(`${jkt}.${jti}`, iat * 1000 + maxAgeMs, now)) throw new DpopProofError('replayed');
    const issuedAt = iat * 1000;
    if (!nonces) return { jkt, issuedAt };
    const current = nonces.current();
    return nonce === current ? { jkt, issuedAt } : { jkt, issuedAt, nextNonce: current };
  };
}

/** The key a token is bound to (`cnf.jkt`, RFC 9449 §6), undefined for a bearer token. */
export function boundKeyOf(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) return undefined;
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
  // Bound by some other means (mTLS, RFC 8705) that cannot be checked here: never accepted as a bearer token.
  if (typeof jkt !== 'string') throw new TokenInvalidError('bound to a key this server cannot check');
  return jkt;
}

/**
 * The key of a proof header and its thumbprint. A client sends the same header with every proof,
 * so each distinct one is parsed, checked and imported once (importing an EC key alone costs more
 * than verifying a signature with it); a bounded number are kept, the oldest dropped first.
 */
function createHeaderKeys(algorithms: ReadonlySet<string>, size: number) {
  const known = new Map<string, { key: TokenKey; jkt: string }>();
  return (headerPart: string): { key: TokenKey; jkt: string } => {
    const cached = known.get(headerPart);
    if (cached) return cached;
    const header = jsonSegment(headerPart);
    if (header.typ !== 'dpop+jwt') throw new DpopProofError('typ must be dpop+jwt');
    if (typeof header.alg !== 'string' || !algorithms.has(header.alg)) throw new DpopProofError('algorithm not allowed');
    if (header.crit !== undefined) throw new DpopProofError('crit is not supported');
    const key = proofKey(header.jwk, header.alg as DpopAlgorithm);
    const entry = { key, jkt: jwkThumbprint(key.verificationKey) };
    if (known.size >= size) known.delete(known.keys().next().value!);
    known.set(headerPart, entry);
    return entry;
  };
}

function jsonSegment(segment: string): Record<string, unknown> {
  const bytes = decodeBase64url(segment);
  const value = bytes && parseJsonObject(bytes.toString('utf8'));
  if (!value) throw new DpopProofError('malformed');
  return value;
}

/**
 * The header's key: a public JWK bound to the header's algorithm, of the shape a client's key has.
 * The shape is checked on the text, before any cryptography: the key is the sender's to choose,
 * and RSA's cost grows with the public exponent (a 3072-bit one made each refused proof cost
 * 5 ms) and the modulus. RSA keys are held to e = 65537 and 2048 to 4096 bits, as WebCrypto,
 * jose and every platform keystore make them.
 */
function proofKey(jwk: unknown, alg: DpopAlgorithm): TokenKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new DpopProofError('jwk missing');
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw new DpopProofError('jwk must be a public key');
  const shape = PROOF_KEY_SHAPES[alg];
  if (!Object.entries(shape).every(([member, allowed]) => allowed.test(String((jwk as Record<string, unknown>)[member]))))
    throw new DpopProofError(alg === 'RS256' ? 'RSA keys must have e = 65537 and 2048 to 4096 bits' : 'jwk does not fit the algorithm');
  try {
    const { alg: _alg, ...publicMembers } = jwk as JsonWebKey;
    return importKey({ alg: alg === 'Ed25519' ? 'EdDSA' : alg, key: publicMembers });
  } catch (error) {
    if (error instanceof TesseraError) throw new DpopProofError('jwk does not fit the algorithm');
    throw error;
  }
}

/** Scheme, host, port and path, normalised by the URL parser (RFC 9449 §4.3, point 9). */
function withoutQuery(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return undefined;
  }
}

/** Proof ids seen, each until the proof could no longer pass the iat check; at most `size`, the oldest dropped first. */
function createReplayCache(size: number) {
  const until = new Map<string, number>();
  return {
    /** False if `id` was seen and is still remembered. */
    add(id: string, expiresAt: number, now: number): boolean {
      const key = createHash('sha256').update(id).digest('base64url');
      const known = until.get(key);
      if (known !== undefined && known > now) return false;
      until.delete(key);
      // Bounded memory over perfect memory: the oldest goes, expired or not (the nonce still bounds it).
      if (until.size >= size) until.delete(until.keys().next().value!);
      until.set(key, expiresAt);
      return true;
    },
  };
}

/** Server nonces any instance sharing the secret can check, with no store (see `createDpopNonces`). */
export interface DpopNonces {
  /** The nonce to hand out now (`DPoP-Nonce`). */
  current(): string;
  /** Whether `nonce` is the current one or the one before it. */
  check(nonce: string): boolean;
}

/**
 * RFC 9449 §8 nonces without shared state: a nonce is the current time window and an HMAC of it
 * under `secret`, so every instance holding the secret issues the same one and accepts it for one
 * to two windows. A proof made before the window began cannot carry it: the nonce bounds how long
 * a captured proof can be replayed at another instance, where the per-instance jti cache does not reach.
 */
export function createDpopNonces(options: { secret: Buffer; windowSeconds?: number; clock?: Clock }): DpopNonces {
  if (options.secret.length < 32) throw new ConfigError('The DPoP nonce secret must be at least 32 bytes.');
  const windowMs = (options.windowSeconds ?? 60) * 1000;
  const clock = options.clock ?? systemClock;
  const nonceOf = (window: number) => {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(window));
    return `${window.toString(36)}.${createHmac('sha256', options.secret).update(counter).digest('base64url').slice(0, 22)}`;
  };
  const windowNow = () => Math.floor(clock.now() / windowMs);
  // One HMAC per window, not per request.
  let cached = { window: -1, nonce: '' };
  return {
    current() {
      const window = windowNow();
      if (cached.window !== window) cached = { window, nonce: nonceOf(window) };
      return cached.nonce;
    },
    check(nonce) {
      const window = parseInt(nonce.split('.')[0] ?? '', 36);
      const now = windowNow();
      if (!(window === now || window === now - 1)) return false;
      const expected = Buffer.from(nonceOf(window));
      const given = Buffer.from(nonce);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
