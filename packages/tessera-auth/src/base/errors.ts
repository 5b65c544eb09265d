/**
 * Every failure Tessera reports is a `TesseraError` with a stable `code`. Only `http/` turns a code
 * into a status. Messages never contain a token, a session id or a secret.
 */
export type ErrorCode =
  | 'unauthenticated'
  | 'forbidden'
  | 'csrf'
  | 'invalid_request'
  | 'method_not_allowed'
  | 'content_too_large'
  | 'invalid_credentials'
  | 'throttled'
  | 'overloaded'
  | 'username_taken'
  | 'not_found'
  | 'session_conflict'
  | 'credentials_changed'
  | 'session_data_too_large'
  | 'store_unavailable'
  | 'invalid_config'
  | 'not_implemented'
  | 'token_invalid'
  | 'token_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_claim_invalid'
  | 'token_revoked'
  | 'refresh_token_invalid'
  | 'refresh_token_reused'
  | 'invalid_client'
  | 'invalid_target'
  | 'invalid_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'key_invalid';

/**
 * Every error Tessera throws on purpose: `code` is stable (problem+json `code`, `urn:tessera:error:<code>`),
 * the message is safe to show. Adapters answer with `toProblem(error)`.
 *
 * @example
 * ```ts
 * try {
 *   await req.auth.login(user);
 * } catch (error) {
 *   if (error instanceof TesseraError && error.code === 'credentials_changed') return retry();
 *   throw error;
 * }
 * ```
 */
export class TesseraError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** No valid credential was presented (missing, unknown, expired or revoked). */
export class AuthenticationRequiredError extends TesseraError {
  constructor(message = 'Authentication is required.') {
    super('unauthenticated', message);
  }
}

/** A valid identity without the role the operation needs. */
export class ForbiddenError extends TesseraError {
  readonly requiredRoles: readonly string[];

  constructor(requiredRoles: readonly string[] = []) {
    super('forbidden', 'The authenticated user lacks a required role.');
    this.requiredRoles = requiredRoles;
  }
}

/** A cookie-authenticated unsafe request that did not come from a trusted origin. */
export class CsrfError extends TesseraError {
  constructor() {
    super('csrf', 'Cross-site request refused: the Origin is not trusted.');
  }
}

/** The request is malformed (a missing field, a body that is not JSON): 400. */
export class InvalidRequestError extends TesseraError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

/** Identical for an unknown user and a wrong password, so it reveals neither. */
/** The route exists, but not for this method; `allow` lists the methods it answers. */
export class MethodNotAllowedError extends TesseraError {
  readonly allow: readonly string[];

  constructor(allow: readonly string[]) {
    super('method_not_allowed', `This route answers ${allow.join(', ')}.`);
    this.allow = allow;
  }
}

/** A request body over the size limit. */
export class ContentTooLargeError extends TesseraError {
  constructor(message = 'The body is too large.') {
    super('content_too_large', message);
  }
}

/** Wrong username or password (the same answer for either, so names cannot be probed): 401. */
export class InvalidCredentialsError extends TesseraError {
  constructor() {
    super('invalid_credentials', 'The username or password is incorrect.');
  }
}

/** Too many attempts from this client or at this account: 429, retry after `retryAfterSeconds`. */
export class ThrottledError extends TesseraError {
  readonly retryAfterSeconds: number;

  /** `message` says what was too many (default: failed attempts). */
  constructor(retryAfterSeconds: number, message = 'Too many failed attempts; try again later.') {
    super('throttled', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Too much expensive work (password hashing) is waiting already: shed, to be retried after `retryAfterSeconds`. */
export class OverloadedError extends TesseraError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds = 1) {
    super('overloaded', 'The server is busy; try again shortly.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Registration with a name already in use: 409. */
export class UsernameTakenError extends TesseraError {
  constructor() {
    super('username_taken', 'That username is already taken.');
  }
}

/** No such route or resource: 404. */
export class NotFoundError extends TesseraError {
  constructor(message = 'Not found.') {
    super('not_found', message);
  }
}

/** Concurrent updates of one session's data kept colliding; nothing was written. */
export class SessionConflictError extends TesseraError {
  constructor() {
    super('session_conflict', 'Session data changed concurrently too many times; nothing was written.');
  }
}

/**
 * A login checked against credentials (password, roles) that changed before its session could be
 * created: nothing was created. Read the user again and retry; the change may have locked this login out.
 */
export class CredentialsChangedError extends TesseraError {
  constructor() {
    super('credentials_changed', "The user's credentials changed during the login; nothing was created.");
  }
}

export class SessionDataTooLargeError extends TesseraError {
  readonly limitBytes: number;

  constructor(sizeBytes: number, limitBytes: number) {
    super('session_data_too_large', `Session data is ${sizeBytes} bytes; the limit is ${limitBytes}.`);
    this.limitBytes = limitBytes;
  }
}

/** The store failed or timed out. The request fails closed; the session is kept. */
export class StoreUnavailableError extends TesseraError {
  constructor(cause?: unknown, message = 'The session store is unavailable.') {
    super('store_unavailable', message, { cause });
  }
}

/** An option is invalid; thrown at startup by the `create*` functions, never per request. */
export class ConfigError extends TesseraError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

/** The configured strategy has no such operation (session data in stateless, refresh outside hybrid): 501. */
export class NotImplementedError extends TesseraError {
  constructor(message: string) {
    super('not_implemented', message);
  }
}

/** The codes of `TokenError`: why a presented token was refused. */
export type TokenErrorCode = Extract<
  ErrorCode,
  'token_invalid' | 'token_signature' | 'token_expired' | 'token_not_yet_valid' | 'token_claim_invalid' | 'token_revoked'
>;

/**
 * A presented token was refused. The message says why in general terms and never contains the
 * token or any part of it.
 */
export class TokenError extends TesseraError {
  declare readonly code: TokenErrorCode;

  constructor(code: TokenErrorCode, message: string) {
    super(code, message);
  }
}

/** A DPoP proof (RFC 9449) is missing, malformed, or does not hold for this request and token. */
export class DpopProofError extends TesseraError {
  constructor(reason: string) {
    super('invalid_dpop_proof', `Invalid DPoP proof: ${reason}.`);
  }
}

/** The proof must carry a nonce this server issued (RFC 9449 §8): the client retries with `nonce`. */
export class UseDpopNonceError extends TesseraError {
  constructor(readonly nonce: string) {
    super('use_dpop_nonce', 'The DPoP proof must carry the nonce in the DPoP-Nonce header.');
  }
}

/** Malformed, unsupported or mis-sized header, payload or signature encoding. */
export class TokenInvalidError extends TokenError {
  constructor(reason: string) {
    super('token_invalid', `Invalid token: ${reason}.`);
  }
}

/** The token names a key this verifier does not hold (a remote key set may refetch, then retry). */
export class TokenKeyUnknownError extends TokenInvalidError {
  constructor() {
    super('unknown key');
  }
}

export class TokenSignatureError extends TokenError {
  constructor() {
    super('token_signature', 'The token signature does not verify.');
  }
}

export class TokenExpiredError extends TokenError {
  constructor() {
    super('token_expired', 'The token has expired.');
  }
}

export class TokenNotYetValidError extends TokenError {
  constructor() {
    super('token_not_yet_valid', 'The token is not valid yet.');
  }
}

/** The token was revoked (logout, a revoked device, logout everywhere, a password or role change). */
export class TokenRevokedError extends TokenError {
  constructor() {
    super('token_revoked', 'The token has been revoked.');
  }
}

/** A claim is missing, of the wrong type, or not one this verifier accepts (iss, aud, typ, sub). */
export class TokenClaimError extends TokenError {
  constructor(claim: string) {
    super('token_claim_invalid', `The token's "${claim}" is missing or not accepted.`);
  }
}

/** A refresh handle that is malformed, unknown, or whose session has ended. */
export class RefreshTokenInvalidError extends TesseraError {
  constructor() {
    super('refresh_token_invalid', 'The refresh token is not valid.');
  }
}

/**
 * A refresh handle that was already rotated, presented after the grace window: a sign that it
 * was copied. The whole session has been revoked.
 */
export class RefreshTokenReusedError extends TesseraError {
  constructor() {
    super('refresh_token_reused', 'The refresh token was already used; the session has been revoked.');
  }
}

/** An OAuth client that failed to authenticate (RFC 6749 §5.2): unknown id or wrong secret, alike. */
export class InvalidClientError extends TesseraError {
  constructor(message = 'Client authentication failed.') {
    super('invalid_client', message);
  }
}

/** A token asked for an audience this server does not issue tokens for (RFC 8693 `invalid_target`). */
export class InvalidTargetError extends TesseraError {
  constructor(message = 'No tokens are issued for that audience.') {
    super('invalid_target', message);
  }
}

/** A token asked for a scope its audience does not grant (RFC 6749 `invalid_scope`). */
export class InvalidScopeError extends TesseraError {
  constructor(message = 'That scope is not granted for that audience.') {
    super('invalid_scope', message);
  }
}

/** A key that cannot be used as configured (wrong type for its algorithm, too short, malformed). */
export class KeyInvalidError extends TesseraError {
  constructor(message: string) {
    super('key_invalid', message);
  }
}
