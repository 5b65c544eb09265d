export {
  ALGORITHMS,
  generateJwk,
  importKey,
  jwkThumbprint,
  publicJwk,
  type Algorithm,
  type JsonWebKey,
  type KeyInput,
  type PublicJwk,
  type TokenKey,
} from './keys.js';
export { createKeyRing, type KeyRing, type KeyRingEntry, type KeyStatus } from './key-ring.js';
export {
  generateKeyFile,
  openKeyDirectory,
  readKeyFiles,
  rotateKeys,
  setKeyStatus,
  type KeyDirectory,
  type KeyFile,
  type KeyRotation,
} from './key-directory.js';
export {
  boundKeyOf,
  createDpopNonces,
  createDpopVerifier,
  DPOP_ALGORITHMS,
  type DpopAlgorithm,
  type DpopNonces,
  type DpopProof,
  type DpopRequest,
  type DpopVerifier,
  type DpopVerifierOptions,
} from './dpop.js';
export { createRemoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from './remote-key-set.js';
export { createTokenIssuer, signJwt, type IssueInput, type IssuedToken, type TokenIssuer, type TokenIssuerOptions } from './sign.js';
export { createVerifier, type TokenClaims, type Verifier, type VerifierOptions } from './verify.js';
export type { Clock } from '../base/clock.js';
