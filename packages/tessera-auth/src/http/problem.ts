import {
  AuthenticationRequiredError,
  DpopProofError,
  ForbiddenError,
  InvalidClientError,
  MethodNotAllowedError,
  OverloadedError,
  TesseraError,
  UseDpopNonceError,
  ThrottledError,
  TokenError,
  type ErrorCode,
} from '../base/errors.js';
import type { CredentialScheme } from '../base/types.js';

/** An RFC 9457 problem body: `code` is the `TesseraError` code. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode | 'internal';
  readonly detail: string;
  /** On a 500: the id under which the error was reported (see `ErrorReporter`). */
  readonly error_id?: string;
}

/** The status, headers and body of an error answer. */
export interface ProblemResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: ProblemDetails;
}

const STATUS_AND_TITLE: Record<ErrorCode, [number, string]> = {
  unauthenticated: [401, 'Unauthenticated'],
  invalid_credentials: [401, 'Invalid credentials'],
  forbidden: [403, 'Forbidden'],
  csrf: [403, 'Cross-site request refused'],
  invalid_request: [400, 'Invalid request'],
  method_not_allowed: [405, 'Method not allowed'],
  content_too_large: [413, 'Content too large'],
  not_found: [404, 'Not found'],
  username_taken: [409, 'Username taken'],
  session_conflict: [409, 'Session conflict'],
  credentials_changed: [409, 'Credentials changed'],
  session_data_too_large: [413, 'Session data too large'],
  throttled: [429, 'Too many attempts'],
  overloaded: [503, 'Overloaded'],
  store_unavailable: [503, 'Store unavailable'],
  invalid_config: [500, 'Server misconfigured'],
  not_implemented: [501, 'Not implemented'],
  token_invalid: [401, 'Invalid token'],
  token_signature: [401, 'Invalid token'],
  token_expired: [401, 'Invalid token'],
  token_not_yet_valid: [401, 'Invalid token'],
  token_claim_invalid: [401, 'Invalid token'],
  token_revoked: [401, 'Invalid token'],
  refresh_token_invalid: [401, 'Invalid refresh token'],
  refresh_token_reused: [401, 'Refresh token reused'],
  invalid_client: [401, 'Invalid client'],
  invalid_target: [400, 'Invalid target'],
  invalid_scope: [400, 'Invalid scope'],
  invalid_dpop_proof: [401, 'Invalid DPoP proof'],
  use_dpop_nonce: [401, 'DPoP nonce required'],
  key_invalid: [500, 'Server misconfigured'],
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * RFC 6750 §3 (and RFC 9449 §7.1 for DPoP): a token request's 401 and 403 say so in
 * WWW-Authenticate, in the scheme the request used. The error description is left out on purpose:
 * the code is enough, and nothing about the token is ever echoed.
 */
function tokenChallenge(error: TesseraError, scheme: 'Bearer' | 'DPoP'): string | undefined {
  if (error instanceof DpopProofError || error instanceof UseDpopNonceError) return `DPoP error="${error.code}"`;
  if (error instanceof TokenError) return `${scheme} error="invalid_token"`;
  if (error instanceof AuthenticationRequiredError) return scheme;
  if (error instanceof ForbiddenError) return `${scheme} error="insufficient_scope"`;
  return undefined;
}

/**
 * RFC 9110 §11.6.1: every 401 carries a challenge. One with no token error to report (a wrong
 * password, a missing session) names the scheme the request would authenticate with: a session
 * cookie (the `Cookie` scheme of draft-broyer-http-cookie-auth, as no registered scheme fits) or a token.
 */
const plainChallenge = (scheme: CredentialScheme) =>
  `${scheme === 'cookie' ? 'Cookie' : scheme === 'dpop' ? 'DPoP' : 'Bearer'} realm="tessera"`;

/**
 * The HTTP answer for any error: TesseraErrors by their code, anything else a bare 500 that tells
 * nothing but `errorId`, the id it was reported under. `scheme` is how the request authenticated;
 * token requests (and every token or proof error) get a challenge.
 */
export function toProblem(error: unknown, scheme: CredentialScheme = 'cookie', errorId?: string): ProblemResponse {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };
  const reference = errorId === undefined ? {} : { error_id: errorId };
  if (!(error instanceof TesseraError)) {
    const body = {
      type: 'urn:tessera:error:internal',
      title: 'Internal error',
      status: 500,
      code: 'internal',
      detail: errorId === undefined ? 'Something went wrong.' : `Something went wrong (error ${errorId}).`,
      ...reference,
    } as const;
    return { status: 500, headers, body };
  }
  const [status, title] = STATUS_AND_TITLE[error.code];
  if (error instanceof ThrottledError || error instanceof OverloadedError) headers['retry-after'] = String(error.retryAfterSeconds);
  // RFC 6749 §5.2: a client that tried HTTP Basic is told which scheme to use.
  if (error instanceof InvalidClientError) headers['www-authenticate'] = 'Basic realm="tessera"';
  if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ');
  const challenge =
    scheme !== 'cookie' || error instanceof TokenError || error instanceof DpopProofError || error instanceof UseDpopNonceError;
  const value = challenge && tokenChallenge(error, scheme === 'dpop' ? 'DPoP' : 'Bearer');
  if (value) headers['www-authenticate'] = value;
  else if (status === 401) headers['www-authenticate'] ??= plainChallenge(scheme);
  // RFC 9449 §8 and §9: the nonce to use.
  if (error instanceof UseDpopNonceError) headers['dpop-nonce'] = error.nonce;
  return {
    status,
    headers,
    body: { type: `urn:tessera:error:${error.code}`, title, status, code: error.code, detail: error.message, ...reference },
  };
}
