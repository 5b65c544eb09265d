import type { Auth } from '../core/create-auth.js';
import { internalsOf } from '../core/internals.js';
import {
  CsrfError,
  DpopProofError,
  InvalidRequestError,
  NotImplementedError,
  RefreshTokenInvalidError,
  RefreshTokenReusedError,
  UseDpopNonceError,
} from '../base/errors.js';
import type { DpopSettings } from '../core/token-runtime.js';
import type { DpopProof } from '../tokens/dpop.js';
import type { LoginResult } from '../base/types.js';
import { clearedSessionCookie, cookieCount, readCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import { checkProof } from './dpop.js';
import type { RequestFacts, ResponseSink } from './request.js';
import { deliverTokens } from './token-delivery.js';

/** Longest refresh handle accepted from a body: ours are 87 characters. */
const MAX_HANDLE_LENGTH = 256;

/**
 * The refresh exchange of the hybrid strategy, for any framework: the handle comes from the body
 * (`bodyToken`, mobile and CLI clients; answered in the body) or else from the refresh cookie
 * (browsers; CSRF-guarded, answered with a new cookie). It needs no access token, so it belongs
 * before (or outside) the middleware that verifies one: an expired token must not block renewal.
 * A handle bound to a DPoP key renews only with a `DPoP` proof of that key.
 */
export async function refreshFromRequest(
  auth: Auth,
  request: RequestFacts,
  response: ResponseSink,
  bodyToken: unknown,
): Promise<LoginResult> {
  const { hybrid, tokens } = internalsOf(auth);
  if (!hybrid || !tokens) throw new NotImplementedError('Refresh handles belong to the hybrid strategy.');
  if (bodyToken !== undefined && (typeof bodyToken !== 'string' || bodyToken.length > MAX_HANDLE_LENGTH)) {
    throw new InvalidRequestError('refresh_token must be a string.');
  }
  const transport = typeof bodyToken === 'string' ? 'body' : 'cookie';
  // Refused before anything is spent, swapped or cleared: the owner's own cookie keeps working.
  if (transport === 'cookie' && cookieCount(request.header('cookie'), auth.refreshCookie.name) > 1) {
    throw new InvalidRequestError('The request carries two refresh cookies (another site of this domain set one); nothing was renewed.');
  }
  const handle = typeof bodyToken === 'string' ? bodyToken : readCookie(request.header('cookie'), auth.refreshCookie.name);
  if (handle === undefined) throw new RefreshTokenInvalidError();
  if (transport === 'cookie' && !isCsrfSafe(request, auth.trustedOrigins)) throw new CsrfError();
  const dpop = tokens.dpopSettings;
  const proof = refreshProof(dpop, request, response);
  if (proof === undefined && dpop.mode === 'required') throw new DpopProofError('this server renews DPoP-bound refresh tokens only');
  try {
    const proved = { jkt: proof?.jkt, proofIssuedAt: proof?.issuedAt, unboundAllowed: dpop.mode !== 'required' };
    return deliverTokens(auth, response, await hybrid.refresh(handle, proved), transport);
  } catch (error) {
    // A dead handle is dropped from the browser; a store outage (503) leaves it in place.
    if (transport === 'cookie' && (error instanceof RefreshTokenInvalidError || error instanceof RefreshTokenReusedError)) {
      response.appendSetCookie(clearedSessionCookie(auth.refreshCookie));
    }
    throw error;
  }
}

/**
 * The proof a refresh request carries. With DPoP off a proof is not asked for, and one that does not
 * hold is ignored (a browser that always sends one must not lose its session over it); a handle
 * bound while DPoP was on still renews only with a proof of its key.
 */
export function refreshProof(dpop: DpopSettings, request: RequestFacts, response: ResponseSink): DpopProof | undefined {
  if (request.header('dpop') === undefined) return undefined;
  try {
    return checkProof(dpop, request, response);
  } catch (error) {
    if (dpop.mode === 'off' && (error instanceof DpopProofError || error instanceof UseDpopNonceError)) return undefined;
    throw error;
  }
}

/** RFC 6749 §5.1: a response carrying tokens is never stored, by HTTP/1.1 caches or older ones. */
export const TOKEN_RESPONSE_HEADERS = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** The OAuth-style JSON of a token response (RFC 6749 §5.1 names), as login and refresh answer. */
export function tokenResponseBody(result: LoginResult) {
  const { accessToken, refreshToken } = result;
  return {
    ...(accessToken && { access_token: accessToken.token, token_type: accessToken.type, expires_in: accessToken.expiresIn }),
    ...(refreshToken !== undefined && { refresh_token: refreshToken }),
  };
}

/** The answer of a refresh route: the session and the new token fields. */
export function refreshResponseBody(result: LoginResult) {
  return { session: { id: result.session.id, expires_at: new Date(result.session.expiresAt).toISOString() }, ...tokenResponseBody(result) };
}
