import { InvalidRequestError } from 'tessera-auth';
import { OAuthProtocolError } from './oauth-error.js';

/** Longest token accepted by introspection and revocation, checked before anything else. */
const MAX_TOKEN_LENGTH = 8192;
/** Printable ASCII without spaces: a URL (`https://orders.internal`) or a plain name (`orders`). */
export const AUDIENCE = /^[\x21-\x7e]{1,256}$/;
/** RFC 6749 §3.3: scope tokens are printable ASCII but `"` and `\`, separated by single spaces. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A required string parameter of an OAuth request (a code, a refresh token, the page's query). */
export function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096)
    throw new OAuthProtocolError('invalid_request', `${name} is required.`);
  return value;
}

export function checkToken(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidRequestError('token is required.');
  if (value.length > MAX_TOKEN_LENGTH) throw new InvalidRequestError('token is too long.');
  return value;
}

/** A service token's audience: another service, never the identity server's own access audience. */
export function checkAudience(value: unknown, ownAudience: string): string {
  if (typeof value !== 'string' || !AUDIENCE.test(value)) {
    throw new InvalidRequestError('audience must name a service: 1 to 256 printable characters, no spaces.');
  }
  if (value === ownAudience) throw new InvalidRequestError('audience must be another service, not this server.');
  return value;
}

/** Optional; duplicates dropped, order kept; at most 32 scopes. */
export function checkScope(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 1024) throw new InvalidRequestError('scope must be a space-separated string.');
  const scopes = [...new Set(value.split(' ').filter(Boolean))];
  if (scopes.length > 32 || !scopes.every((scope) => SCOPE_TOKEN.test(scope)))
    throw new InvalidRequestError('scope has an invalid scope token.');
  return scopes.length > 0 ? scopes.join(' ') : undefined;
}
