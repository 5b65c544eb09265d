import type { Auth } from '../core/create-auth.js';
import { CsrfError, TesseraError, TokenInvalidError } from '../base/errors.js';
import type { TokenRuntime } from '../core/token-runtime.js';
import type { AuthContext } from '../base/types.js';
import { readBearerToken } from './bearer.js';
import { readCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import { HybridContext } from './hybrid-context.js';
import type { RequestFacts, ResponseSink } from './request.js';
import { StatelessContext } from './stateless-context.js';

/**
 * Builds `req.auth` for the stateless and hybrid strategies: the bearer token is verified with the key ring
 * and checked against the in-memory revocation list. The request path touches no store, and once
 * the persisted revocations are loaded it is synchronous: no promise per request.
 */
export function createTokenContext(auth: Auth, tokens: TokenRuntime, request: RequestFacts, response: ResponseSink): AuthContext | Promise<AuthContext> {
  if (!tokens.loaded) return tokens.ensureLoaded().then(() => tokenContext(auth, tokens, request, response));
  return tokenContext(auth, tokens, request, response);
}

function tokenContext(auth: Auth, tokens: TokenRuntime, request: RequestFacts, response: ResponseSink): AuthContext {
  let token = readBearerToken(request.header('authorization'));
  let fromCookie = false;
  if (token === undefined && tokens.cookie) {
    token = readCookie(request.header('cookie'), auth.cookie.name);
    fromCookie = token !== undefined;
    // A cookie rides along on cross-site requests: the same guard as for session cookies.
    if (fromCookie && !isCsrfSafe(request, auth.trustedOrigins)) throw new CsrfError();
  }
  const Context = auth.hybrid ? HybridContext : StatelessContext;
  if (token === undefined) return new Context(auth, tokens, request, response, null, false);
  try {
    if (token === null) throw new TokenInvalidError('malformed Authorization header');
    const claims = tokens.verify(token);
    // After verification, never instead of it: a cached token is checked here like any other. A
    // copy that may be missing revocations is not trusted: 503, never accept blindly.
    tokens.checkRevocation(claims);
    return new Context(auth, tokens, request, response, claims, fromCookie);
  } catch (error) {
    // A bad credential matters only where a route needs one: requireAuth answers with the reason.
    if (!(error instanceof TesseraError)) throw error;
    return new Context(auth, tokens, request, response, null, fromCookie, error);
  }
}
