import { TesseraError, type ErrorCode } from '../base/errors.js';
import { toProblem } from './problem.js';

/** The RFC 6749 §5.2 error codes (and RFC 8693's `invalid_target`) Tessera's codes map to. */
const OAUTH_ERROR: Partial<Record<ErrorCode, string>> = {
  invalid_client: 'invalid_client',
  invalid_scope: 'invalid_scope',
  invalid_target: 'invalid_target',
  invalid_dpop_proof: 'invalid_dpop_proof',
  use_dpop_nonce: 'use_dpop_nonce',
  store_unavailable: 'temporarily_unavailable',
  overloaded: 'temporarily_unavailable',
  throttled: 'temporarily_unavailable',
};

/** An RFC 6749 §5.2 error answer: status, headers and `{ error, error_description }`. */
export interface OAuthErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: { readonly error: string; readonly error_description: string };
}

/**
 * The answer of an OAuth endpoint (introspection, revocation) for any error: the status and headers
 * of `toProblem` (Retry-After, the Basic challenge, Allow), with RFC 6749 §5.2's JSON body, which
 * OAuth client libraries read.
 */
export function toOAuthError(error: unknown): OAuthErrorResponse {
  const problem = toProblem(error);
  const code = error instanceof TesseraError ? error.code : undefined;
  const oauthCode = (code && OAUTH_ERROR[code]) ?? (problem.status < 500 ? 'invalid_request' : 'server_error');
  return {
    status: problem.status,
    headers: { ...problem.headers, 'content-type': 'application/json', pragma: 'no-cache' },
    body: { error: oauthCode, error_description: problem.body.detail },
  };
}
