import { DpopProofError, TokenInvalidError } from '../base/errors.js';
import type { CredentialScheme } from '../base/types.js';
import { boundKeyOf, type DpopProof, type DpopVerifier } from '../tokens/dpop.js';
import type { TokenClaims } from '../tokens/verify.js';
import type { RequestFacts, ResponseSink } from './request.js';

/** How a server checks DPoP proofs: the verifier, and the origin clients address it at. */
export interface DpopCheck {
  readonly verify: DpopVerifier;
  /** `scheme://host[:port]`: a proof's `htu` is this and the request's path. Never the Host header, which a client chooses. */
  readonly origin: string | undefined;
}

/**
 * The thumbprint of the key the request's `DPoP` proof was made with, once the proof holds for this
 * request (method, URL) and, when given, for `accessToken`. A proof that carried the previous server
 * nonce gets the current one sent back (`DPoP-Nonce`), so the client's next proof carries it.
 */
export function proofKey(check: DpopCheck, request: RequestFacts, response: ResponseSink | undefined, accessToken?: string): string {
  return checkProof(check, request, response, accessToken).jkt;
}

/** The request's `DPoP` proof, once it holds (see `proofKey`). */
export function checkProof(check: DpopCheck, request: RequestFacts, response: ResponseSink | undefined, accessToken?: string): DpopProof {
  if (check.origin === undefined || request.target === undefined) throw new DpopProofError('this server has no URL for proofs to name');
  const proof = check.verify(request.header('dpop'), { method: request.method, url: check.origin + request.target, accessToken });
  if (proof.nextNonce !== undefined) response?.setHeader?.('dpop-nonce', proof.nextNonce);
  return proof;
}

/**
 * The sender constraint of verified claims (RFC 9449 §7): a bound token is accepted only with the
 * `DPoP` scheme and a proof made with its key for this request; the `DPoP` scheme only with a bound
 * token; and, where bearer tokens are not accepted, no unbound one. Returns the key of a bound token.
 */
export function checkSender(
  claims: TokenClaims,
  token: string,
  scheme: CredentialScheme,
  check: DpopCheck | undefined,
  request: RequestFacts,
  response: ResponseSink | undefined,
  bearerAccepted: boolean,
): string | undefined {
  const jkt = boundKeyOf(claims);
  if (jkt === undefined) {
    if (scheme === 'dpop') throw new TokenInvalidError('the DPoP scheme is for DPoP-bound tokens');
    if (!bearerAccepted) throw new TokenInvalidError('this server accepts DPoP-bound tokens only');
    return undefined;
  }
  // §7.2: a bound token presented as a bearer token is refused, whatever else holds.
  if (scheme !== 'dpop') throw new TokenInvalidError('a DPoP-bound token needs the DPoP scheme and a proof');
  if (!check) throw new TokenInvalidError('this service does not check DPoP proofs');
  if (proofKey(check, request, response, token) !== jkt) throw new DpopProofError('made with another key than the token is bound to');
  return jkt;
}
