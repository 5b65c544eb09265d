import type { Response } from 'express';
import { type Auth, type CounterStore, createOAuthGrants, TOKEN_RESPONSE_HEADERS } from 'tessera-auth';
import type { KeyRing } from 'tessera-auth/tokens';
import { createCodeSealer } from './authorization-code.js';
import type { ClientThrottle } from './client-throttle.js';
import { createAuthorizeEndpoints } from './oauth-authorize.js';
import type { OAuthClient } from './oauth-clients.js';
import { OAuthProtocolError } from './oauth-error.js';
import { createTokenEndpoint } from './oauth-token.js';
import type { ServiceGrant } from './service-grants.js';
import type { Telemetry } from './telemetry.js';

export interface AuthorizationOptions {
  auth: Auth;
  clients: readonly OAuthClient[];
  /** What ID tokens are signed with. */
  keys: KeyRing;
  /** Seals authorization codes; shared by the instances. */
  codeSecret: Buffer;
  /** One use of each code, counted in the shared store. */
  counters: CounterStore;
  telemetry: Telemetry;
  /** The sign-in page for a client's authorization (its name shown). */
  page: (client: OAuthClient) => string;
  /** The page's Content-Security-Policy. */
  pagePolicy: string;
  /** The services client credentials tokens may name as their audience. */
  services: readonly ServiceGrant[];
  /** Failed token requests, slowed per client and address. */
  throttle: ClientThrottle;
}

/**
 * OAuth 2.1's authorization code flow with PKCE and OpenID Connect over Tessera's sessions: the
 * authorization endpoint and the token endpoint, sharing the sealed codes. Each redeemed code
 * becomes a session of its own, granted to the client.
 */
export function createAuthorization(options: AuthorizationOptions) {
  const { auth, clients } = options;
  const available = auth.tokens ? createOAuthGrants(auth) : undefined;
  const grants = () => {
    if (!available)
      throw new OAuthProtocolError('unsupported_response_type', 'This server signs no tokens, so it grants none to OAuth clients.');
    return available;
  };
  const sealer = createCodeSealer(options.codeSecret);
  const { authorizePage, authorizeDecision } = createAuthorizeEndpoints({
    auth,
    grants,
    clients: new Map(clients.map((client) => [client.id, client])),
    sealer,
    telemetry: options.telemetry,
    page: options.page,
    pagePolicy: options.pagePolicy,
  });
  const token = createTokenEndpoint({ ...options, grants, sealer });
  return { authorizePage, authorizeDecision, token, supported: available !== undefined };
}

/** The answer of `/oauth/*` to an OAuth protocol error. */
export function sendOAuthProtocolError(res: Response, error: OAuthProtocolError): void {
  res.status(error.status).set(TOKEN_RESPONSE_HEADERS).json({ error: error.error, error_description: error.message });
}
