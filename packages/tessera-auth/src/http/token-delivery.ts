import type { Auth } from '../core/create-auth.js';
import type { Issued } from '../core/strategy.js';
import type { LoginResult } from '../base/types.js';
import { sessionCookie } from './cookies.js';
import type { ResponseSink } from './request.js';

/**
 * Hands token credentials to the client. The access token goes in the result, and in the session
 * cookie when `tokens.cookie` is on. A refresh handle goes in the refresh cookie
 * (living until the session's absolute end) or, for the `body` transport, in the result.
 */
export function deliverTokens(auth: Auth, response: ResponseSink, issued: Issued, transport: 'cookie' | 'body'): LoginResult {
  const { accessToken, refreshToken, record } = issued;
  if (!accessToken) throw new TypeError('deliverTokens needs an access token');
  if (refreshToken !== undefined && transport === 'cookie') {
    const maxAgeSeconds = Math.max(0, Math.floor((record.absoluteExpiresAt - auth.clock.now()) / 1000));
    response.appendSetCookie(sessionCookie({ ...auth.refreshCookie, maxAgeSeconds }, refreshToken));
  }
  if (auth.tokens?.cookie)
    response.appendSetCookie(sessionCookie({ ...auth.cookie, maxAgeSeconds: accessToken.expiresIn }, accessToken.token));
  return {
    session: issued.session,
    accessToken: { token: accessToken.token, type: issued.jkt === undefined ? 'Bearer' : 'DPoP', expiresIn: accessToken.expiresIn },
    ...(transport === 'body' && refreshToken !== undefined && { refreshToken }),
  };
}
