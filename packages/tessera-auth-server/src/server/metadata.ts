import type { ServiceGrant } from './service-grants.js';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

/**
 * RFC 8414 authorization server metadata, served at `/.well-known/oauth-authorization-server` and,
 * for clients that look only there, `/.well-known/openid-configuration`. Endpoints are absolute
 * URLs under the issuer, the URL clients reach the server at.
 */
export function serverMetadata(issuer: string, services: readonly ServiceGrant[], dpopAlgorithms: readonly string[] = []) {
  const at = (path: string) => `${issuer.replace(/\/$/, '')}${path}`;
  const scopes = [...new Set(services.flatMap((service) => service.scopes))];
  return {
    issuer,
    jwks_uri: at('/.well-known/jwks.json'),
    introspection_endpoint: at('/oauth/introspect'),
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint: at('/oauth/revoke'),
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    // Not in RFC 8414: the Server-Sent Events stream of revocations, for services that verify locally.
    revocation_stream_endpoint: at('/revocations/stream'),
    // Users log in with the JSON routes of the OpenAPI document, not an OAuth authorization flow.
    response_types_supported: [],
    grant_types_supported: [],
    ...(scopes.length > 0 && { scopes_supported: scopes }),
    service_documentation: at('/openapi.json'),
    // RFC 9449 §5.1: the proof algorithms, advertised only when tokens are bound.
    ...(dpopAlgorithms.length > 0 && { dpop_signing_alg_values_supported: [...dpopAlgorithms] }),
  };
}
