export { ALGORITHMS, generateJwk, importKey, jwkThumbprint, publicJwk, type Algorithm, type KeyInput, type TokenKey } from './keys.js';
export { createKeyRing, type KeyRing, type KeyRingEntry, type KeyStatus } from './key-ring.js';
export { createTokenIssuer, signJwt, type IssueInput, type TokenIssuerOptions } from './sign.js';
export { createVerifier, type TokenClaims, type Verifier, type VerifierOptions } from './verify.js';
