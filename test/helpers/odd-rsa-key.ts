import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, sign, type JsonWebKey } from 'node:crypto';

const toBig = (value: string) => BigInt(`0x${Buffer.from(value, 'base64url').toString('hex') || '0'}`);
const fromBig = (value: bigint) => {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
};
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
function inverse(value: bigint, modulus: bigint): bigint {
  let [r0, r1, s0, s1] = [modulus, value % modulus, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return ((s0 % modulus) + modulus) % modulus;
}

/**
 * A working RSA key pair as an attacker would make one to burn a verifier's CPU: a `modulusBits`
 * modulus and the public exponent `exponent`, or a random one one bit shorter than the modulus
 * (`'huge'`). OpenSSL's key generator makes only small exponents, so the private one is derived here.
 */
export function oddRsaKey(modulusBits: number, exponent?: bigint | 'huge'): { privateJwk: JsonWebKey; publicJwk: JsonWebKey } {
  for (;;) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: modulusBits });
    const jwk = privateKey.export({ format: 'jwk' });
    if (exponent === undefined) return { privateJwk: jwk, publicJwk: { kty: 'RSA', n: jwk.n!, e: jwk.e! } };
    const [p, q] = [toBig(jwk.p!), toBig(jwk.q!)];
    const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
    // Below the modulus (OpenSSL refuses e >= n), odd, and with an inverse.
    const top = 1n << BigInt(modulusBits - 2);
    const e = exponent === 'huge' ? (toBig(randomBytes(modulusBits / 8).toString('base64url')) % top) | top | 1n : exponent;
    if (gcd(e, lambda) !== 1n) continue;
    const d = inverse(e, lambda);
    Object.assign(jwk, { e: fromBig(e), d: fromBig(d), dp: fromBig(d % (p - 1n)), dq: fromBig(d % (q - 1n)) });
    return { privateJwk: jwk, publicJwk: { kty: 'RSA', n: jwk.n!, e: jwk.e! } };
  }
}

/** A DPoP proof signed by hand with `privateJwk` (client libraries refuse keys this odd). */
export function handSignedRsaProof(
  key: { privateJwk: JsonWebKey; publicJwk: JsonWebKey },
  claims: { htm: string; htu: string; nonce?: string | undefined; ath?: string },
): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ typ: 'dpop+jwt', alg: 'RS256', jwk: key.publicJwk });
  const payload = encode({ jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims });
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), createPrivateKey({ key: key.privateJwk, format: 'jwk' }));
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

/** The RFC 7638 thumbprint of an RSA public JWK. */
export const rsaThumbprint = (jwk: JsonWebKey) =>
  createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');
