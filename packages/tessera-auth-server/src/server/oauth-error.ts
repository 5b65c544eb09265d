/**
 * An OAuth protocol error the library has no code for (RFC 6749 §4.1.2.1, §5.2; OpenID Connect
 * Core §3.1.2.6): answered as `{ error, error_description }` with its status.
 */
export class OAuthProtocolError extends Error {
  constructor(
    readonly error:
      | 'invalid_request'
      | 'invalid_grant'
      | 'unauthorized_client'
      | 'unsupported_grant_type'
      | 'unsupported_response_type'
      | 'invalid_scope'
      | 'access_denied'
      | 'login_required'
      | 'invalid_dpop_proof'
      | 'use_dpop_nonce',
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
    this.name = 'OAuthProtocolError';
  }
}
