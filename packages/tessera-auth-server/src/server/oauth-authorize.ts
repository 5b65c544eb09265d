import { randomBytes } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Auth, BrowserSession, OAuthGrants } from 'tessera-auth';
import { type CodeGrant, type CodeSealer } from './authorization-code.js';
import { AuthorizationError, type AuthorizationRequest, readAuthorizationRequest, redirectTo } from './authorization-request.js';
import type { OAuthClient } from './oauth-clients.js';
import { OAuthProtocolError } from './oauth-error.js';
import { requiredText } from './oauth-params.js';
import { body } from './request-body.js';
import type { Telemetry } from './telemetry.js';

export interface AuthorizeOptions {
  auth: Auth;
  /** The grants, or an OAuth error when the server has none. */
  grants: () => OAuthGrants;
  clients: ReadonlyMap<string, OAuthClient>;
  sealer: CodeSealer;
  telemetry: Telemetry;
  /** The sign-in page for a client's authorization (its name shown). */
  page: (client: OAuthClient) => string;
  /** The page's Content-Security-Policy. */
  pagePolicy: string;
}

/**
 * The authorization endpoint: `GET /oauth/authorize` (the browser: straight back with a code when
 * its session will do, else the sign-in page) and `POST /oauth/authorize` (the page, once signed in).
 */
export function createAuthorizeEndpoints(options: AuthorizeOptions) {
  const { auth, telemetry, sealer, clients: clientsById } = options;
  const issuer = auth.tokens?.issuer ?? '';
  const fresh = (session: BrowserSession, request: AuthorizationRequest) =>
    request.maxAge === undefined || auth.clock.now() - session.authTime <= request.maxAge * 1000;

  /** A code for the session's user, to the client's redirect URI. */
  async function approve(request: AuthorizationRequest, session: BrowserSession): Promise<string> {
    // The generation after the session was found live: a credential change in between ended that
    // session, which redemption checks again; one after it fails the grant.
    const generation = await auth.credentialGeneration(session.identity.id);
    const grant: CodeGrant = {
      clientId: request.client.id,
      redirectUri: request.redirectUri,
      challenge: request.challenge,
      scope: request.scope,
      nonce: request.nonce,
      userId: session.identity.id,
      userName: session.identity.name,
      roles: session.identity.roles,
      generation,
      authTime: session.authTime,
      browserSession: session.sessionId,
      issuedAt: auth.clock.now(),
      id: randomBytes(16).toString('base64url'),
    };
    telemetry.security('oauth_authorized', { user_id: session.identity.id, client_id: request.client.id });
    return redirectTo(request.redirectUri, issuer, { code: sealer.seal(grant), state: request.state });
  }

  const failure = (error: AuthorizationError) =>
    redirectTo(error.redirectUri, issuer, { error: error.error, error_description: error.message, state: error.state });

  const queryOf = (req: Request) => new URLSearchParams(req.originalUrl.split('?')[1] ?? '');

  /** The browser arrives: straight back with a code when its session will do, else the sign-in page. */
  const authorizePage: RequestHandler = async (req, res) => {
    res.set({ 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
    const ready = options.grants();
    let request: AuthorizationRequest;
    try {
      request = readAuthorizationRequest(queryOf(req), clientsById);
    } catch (error) {
      if (error instanceof AuthorizationError) return void res.redirect(303, failure(error));
      throw error;
    }
    const session = await ready.browserSession(req.headers.cookie);
    if (session && request.prompt !== 'login' && fresh(session, request)) return void res.redirect(303, await approve(request, session));
    if (request.prompt === 'none') {
      const error = new AuthorizationError(request.redirectUri, request.state, 'login_required', 'The user is not signed in.');
      return void res.redirect(303, failure(error));
    }
    res.set('content-security-policy', options.pagePolicy).type('html').send(options.page(request.client));
  };

  /** The page, signed in: `{ query }` is the authorization request; the answer is where to go. */
  const authorizeDecision: RequestHandler = async (req, res) => {
    res.set('cache-control', 'no-store');
    const ready = options.grants();
    const input = body(req);
    let request: AuthorizationRequest;
    try {
      request = readAuthorizationRequest(new URLSearchParams(requiredText(input.query, 'query')), clientsById);
    } catch (error) {
      if (error instanceof AuthorizationError) return void res.json({ redirect_to: failure(error) });
      throw error;
    }
    const sessionId = req.auth.user ? req.auth.session?.id : undefined;
    const session = sessionId === undefined ? null : await ready.session(sessionId);
    if (!session || !fresh(session, request)) throw new OAuthProtocolError('login_required', 'Sign in to continue.');
    res.json({ redirect_to: await approve(request, session) });
  };

  return { authorizePage, authorizeDecision };
}
