import { LOOPBACK_HOSTS, type OAuthClient } from './oauth-clients.js';
import { OAuthProtocolError } from './oauth-error.js';

/** An authorization request (RFC 6749 §4.1.1, OAuth 2.1, OpenID Connect Core §3.1.2.1), checked. */
export interface AuthorizationRequest {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly state?: string | undefined;
  readonly scope: string;
  readonly nonce?: string | undefined;
  /** PKCE S256 challenge. */
  readonly challenge: string;
  /** `none`: answer without any page; `login`: sign in again whatever the session. */
  readonly prompt?: 'none' | 'login' | undefined;
  /** Seconds: a sign-in older than this is not enough. */
  readonly maxAge?: number | undefined;
  readonly loginHint?: string | undefined;
}

/**
 * A failure answered to the client at its redirect URI, once that URI is known to be the client's
 * (RFC 6749 §4.1.2.1): `error`, `state` and `iss` (RFC 9207) in the query.
 */
export class AuthorizationError extends Error {
  constructor(
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly error: OAuthProtocolError['error'] | 'server_error' | 'temporarily_unavailable',
    description: string,
  ) {
    super(description);
    this.name = 'AuthorizationError';
  }
}

/** Scopes any client may ask for; a client's registered `scope` adds its own. */
export const STANDARD_SCOPES = ['openid', 'profile', 'offline_access'];
const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** RFC 8252 §7.3: a loopback redirect URI registered without a port matches the same URI on any port. */
export function matchesRegistered(requested: string, registered: string): boolean {
  if (requested === registered) return true;
  try {
    const want = new URL(registered);
    const got = new URL(requested);
    if (want.protocol !== 'http:' || !LOOPBACK_HOSTS.has(want.hostname) || want.port !== '' || got.port === '') return false;
    got.port = '';
    return got.href === want.href && requested.startsWith(`http://${got.hostname}:`);
  } catch {
    return false;
  }
}

/** The one value of a parameter; repeated parameters are refused (RFC 6749 §3.1). */
function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new OAuthProtocolError('invalid_request', `${name} is repeated.`);
  return values[0] === '' ? undefined : values[0];
}

/**
 * The client and redirect URI first: until both are verified nothing may be redirected (an open
 * redirect), so their failures are answered here, to the browser. Everything else is then checked,
 * and its failures go to the client's redirect URI.
 */
export function readAuthorizationRequest(params: URLSearchParams, clients: ReadonlyMap<string, OAuthClient>): AuthorizationRequest {
  const clientId = single(params, 'client_id');
  const client = clientId === undefined ? undefined : clients.get(clientId);
  if (!client) throw new OAuthProtocolError('invalid_request', 'Unknown client_id: nothing was redirected.');
  const requested = single(params, 'redirect_uri');
  const registered = client.redirectUris ?? [];
  // OpenID Connect requires redirect_uri; OAuth 2.1 allows leaving it out when only one is registered.
  const redirectUri = requested ?? (registered.length === 1 ? registered[0] : undefined);
  if (redirectUri === undefined || !registered.some((uri) => matchesRegistered(redirectUri, uri)))
    throw new OAuthProtocolError('invalid_request', 'redirect_uri is not one this client registered: nothing was redirected.');

  let state: string | undefined;
  const fail = (error: AuthorizationError['error'], description: string) => new AuthorizationError(redirectUri, state, error, description);
  try {
    state = single(params, 'state');
    if (!client.grantTypes?.includes('authorization_code'))
      throw fail('unauthorized_client', 'This client may not use the authorization code grant.');
    if (single(params, 'response_type') !== 'code') throw fail('unsupported_response_type', 'response_type must be code.');
    const mode = single(params, 'response_mode');
    if (mode !== undefined && mode !== 'query') throw fail('invalid_request', 'response_mode must be query.');
    if (params.has('request') || params.has('request_uri')) throw fail('invalid_request', 'Request objects are not supported.');
    const challenge = single(params, 'code_challenge');
    const method = single(params, 'code_challenge_method');
    if (challenge === undefined) throw fail('invalid_request', 'code_challenge is required (PKCE, S256).');
    if (method !== 'S256') throw fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted).');
    if (!PKCE_CHALLENGE.test(challenge)) throw fail('invalid_request', 'code_challenge must be 43 base64url characters (S256).');
    const scopes = [...new Set((single(params, 'scope') ?? '').split(' ').filter(Boolean))];
    const allowed = new Set([...STANDARD_SCOPES, ...(client.scopes ?? [])]);
    const refused = scopes.find((scope) => !allowed.has(scope));
    if (refused !== undefined)
      throw fail('invalid_scope', `The scope ${JSON.stringify(refused.slice(0, 64))} is not available to this client.`);
    const prompts = (single(params, 'prompt') ?? '').split(' ').filter(Boolean);
    if (prompts.includes('none') && prompts.length > 1) throw fail('invalid_request', 'prompt=none goes alone.');
    const maxAgeText = single(params, 'max_age');
    if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) throw fail('invalid_request', 'max_age must be a number of seconds.');
    const nonce = single(params, 'nonce');
    if (nonce !== undefined && nonce.length > 512) throw fail('invalid_request', 'nonce is too long.');
    if (state !== undefined && state.length > 2048) throw fail('invalid_request', 'state is too long.');
    const loginHint = single(params, 'login_hint');
    return {
      client,
      redirectUri,
      state,
      scope: scopes.join(' '),
      nonce,
      challenge,
      prompt: prompts.includes('none') ? 'none' : prompts.includes('login') || prompts.includes('select_account') ? 'login' : undefined,
      maxAge: maxAgeText === undefined ? undefined : Number(maxAgeText),
      loginHint: loginHint?.slice(0, 256),
    };
  } catch (error) {
    if (error instanceof OAuthProtocolError) throw fail(error.error, error.message);
    throw error;
  }
}

/** The client's redirect URI with the response parameters, and RFC 9207's `iss` (mix-up defence). */
export function redirectTo(redirectUri: string, issuer: string, parameters: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.append(name, value);
  url.searchParams.append('iss', issuer);
  return url.href;
}
