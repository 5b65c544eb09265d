import { STANDARD_SCOPES } from './authorization-request.js';
import type { OAuthClient } from './oauth-clients.js';
import type { ServiceGrant } from './service-grants.js';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

export interface MetadataOptions {
  readonly services: readonly ServiceGrant[];
  readonly clients: readonly OAuthClient[];
  /** RFC 9449 §5.1: the proof algorithms, advertised only when tokens are bound. */
  readonly dpopAlgorithms: readonly string[];
  /** The algorithms of the published keys (ID tokens are signed like access tokens). */
  readonly signingAlgorithms: readonly string[];
  /** Whether the authorization code flow is offered (stateless and hybrid), and refresh tokens (hybrid). */
  readonly authorization: boolean;
  readonly refresh: boolean;
}

/**
 * RFC 8414 authorization server metadata, served at `/.well-known/oauth-authorization-server`,
 * and with the authorization flow OpenID Connect Discovery 1.0 at
 * `/.well-known/openid-configuration`. Endpoints are absolute URLs under the issuer, the URL
 * clients reach the server at. No member is an empty array.
 */
export function serverMetadata(issuer: string, options: MetadataOptions) {
  const at = (path: string) => `${issuer.replace(/\/$/, '')}${path}`;
  const scopes = [
    ...new Set([
      ...(options.authorization ? STANDARD_SCOPES : []),
      ...options.services.flatMap((service) => service.scopes),
      ...options.clients.flatMap((client) => client.scopes ?? []),
    ]),
  ];
  const publicClients = options.clients.some((client) => client.secretHash === undefined);
  const tokenAuthMethods = [...CLIENT_AUTH_METHODS, ...(publicClients ? ['none'] : [])];
  return {
    issuer,
    ...(options.authorization && {
      authorization_endpoint: at('/oauth/authorize'),
      token_endpoint: at('/oauth/token'),
      token_endpoint_auth_methods_supported: tokenAuthMethods,
      userinfo_endpoint: at('/oauth/userinfo'),
      end_session_endpoint: at('/oauth/logout'),
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    }),
    jwks_uri: at('/.well-known/jwks.json'),
    introspection_endpoint: at('/oauth/introspect'),
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint: at('/oauth/revoke'),
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    // Not in RFC 8414: the Server-Sent Events stream of revocations, for services that verify locally.
    revocation_stream_endpoint: at('/revocations/stream'),
    ...(options.authorization && {
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: [
        'authorization_code',
        ...(options.refresh ? ['refresh_token'] : []),
        ...(options.services.length > 0 ? ['client_credentials'] : []),
      ],
      code_challenge_methods_supported: ['S256'],
      // RFC 9207: every authorization response names its issuer (mix-up defence).
      authorization_response_iss_parameter_supported: true,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...options.signingAlgorithms],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'at_hash', 'azp', 'preferred_username'],
      prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    }),
    ...(scopes.length > 0 && { scopes_supported: scopes }),
    service_documentation: at('/openapi.json'),
    ...(options.dpopAlgorithms.length > 0 && { dpop_signing_alg_values_supported: [...options.dpopAlgorithms] }),
  };
}
