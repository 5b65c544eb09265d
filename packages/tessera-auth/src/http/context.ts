import type { Auth } from '../core/create-auth.js';
import type { AuthContext } from '../base/types.js';
import type { RequestFacts, ResponseSink } from './request.js';
import { createSessionContext } from './session-context.js';
import { createTokenContext } from './token-context.js';

/**
 * Builds `req.auth` for one request: synchronously when the strategy needs no I/O (stateless and
 * hybrid, once warm), as a promise otherwise (stateful: the session is read from the store).
 */
export function createAuthContext(auth: Auth, request: RequestFacts, response: ResponseSink): AuthContext | Promise<AuthContext> {
  if (auth.strategy !== 'stateful') return createTokenContext(auth, request, response);
  return createSessionContext(auth, request, response);
}

/**
 * How a request that failed before it had a context is answered: with a bearer challenge where
 * tokens travel in the Authorization header (stateless or hybrid, no token cookie).
 */
export function failureScheme(auth: Auth): 'cookie' | 'bearer' {
  return auth.strategy !== 'stateful' && !auth.tokens?.cookie ? 'bearer' : 'cookie';
}
