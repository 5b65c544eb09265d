/**
 * The identity server's HTTP contract as an OpenAPI 3.1 document, served at `/openapi.json`. It is
 * also the route table the server answers 405 and OPTIONS from, and a test matches it against the
 * routes the app mounts: the description and the routes cannot drift apart.
 */

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const oauthError = (description: string) => ({ description, content: json(ref('OAuthError')) });
const ok = (description: string, schema?: object) => ({ description, ...(schema && { content: json(schema) }) });
const form = (properties: Record<string, object>, required: string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } } },
});
const body = (properties: Record<string, object>, required: string[]) => ({
  required: true,
  content: json({ type: 'object', properties, required }),
});
const text = (type: string, description: string) => ({ description, content: { [type]: { schema: { type: 'string' } } } });
const string = { type: 'string' };
const integer = { type: 'integer' };
const dateTime = { type: 'string', format: 'date-time' };

const unauthenticated = problem(
  'No valid credential: missing, expired or revoked (with `WWW-Authenticate: Bearer` or `DPoP` for token requests); a DPoP proof that does not hold (`invalid_dpop_proof`) or lacks the current nonce (`use_dpop_nonce`, with `DPoP-Nonce`).',
);
const invalid = problem('The request is malformed.');
const tooLarge = problem('The body is over 16 KiB.');
const unavailable = problem('The store or the revocation feed is unavailable (`Retry-After` when overloaded).');
const signedIn = [{ bearer: [] }, { dpop: [] }, { sessionCookie: [] }];
const tokenResponse = {
  type: 'object',
  properties: {
    user: ref('User'),
    session: { type: 'object', properties: { id: string, expires_at: dateTime }, required: ['id', 'expires_at'] },
    access_token: string,
    token_type: { enum: ['Bearer', 'DPoP'] },
    expires_in: integer,
    refresh_token: string,
  },
};
const dpopProof = {
  name: 'DPoP',
  in: 'header',
  required: false,
  schema: string,
  description: 'With --dpop allowed or required: a DPoP proof (RFC 9449) for this request; the tokens issued are bound to its key.',
};
const asset = (type: string, description: string) => ({ get: { summary: description, responses: { 200: text(type, description) } } });

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Tessera identity server',
    version: '1',
    description:
      'Sessions, tokens or both, by one switch (`--strategy`). Errors are problem+json, except on `/oauth/*` (RFC 6749 §5.2). A wrong method is 405 with `Allow`.',
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RFC 9068)' },
      dpop: {
        type: 'http',
        scheme: 'dpop',
        description:
          'A DPoP-bound token (`--dpop`, RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof header for this method and URL, carrying `ath` and the nonce of the last `DPoP-Nonce`. A login or refresh with a proof gets tokens bound to its key (`token_type: DPoP`).',
      },
      sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-tessera' },
      refreshCookie: { type: 'apiKey', in: 'cookie', name: '__Host-tessera-refresh' },
      clientBasic: {
        type: 'http',
        scheme: 'basic',
        description: 'An OAuth client configured with --client (client_secret_basic); client_secret_post works too.',
      },
      metricsToken: { type: 'http', scheme: 'bearer', description: 'The --metrics-token.' },
    },
    schemas: {
      Problem: {
        type: 'object',
        properties: { type: string, title: string, status: integer, code: string, detail: string },
        required: ['type', 'title', 'status', 'code', 'detail'],
      },
      OAuthError: { type: 'object', properties: { error: string, error_description: string }, required: ['error'] },
      User: {
        type: 'object',
        properties: { id: string, username: string, roles: { type: 'array', items: string } },
        required: ['id', 'username', 'roles'],
      },
      Credentials: { type: 'object', properties: { username: string, password: string }, required: ['username', 'password'] },
    },
  },
  paths: {
    '/': {
      get: {
        summary: 'The self-service page',
        responses: { 200: text('text/html', 'The page (its script and style are separate files).') },
      },
    },
    '/tessera-page.js': asset('text/javascript', "The page's script"),
    '/tessera-page.css': asset('text/css', "The page's style sheet"),
    '/tessera-client.js': asset('text/javascript', 'The browser client (tessera/client), which the page imports'),
    '/dpop-key.js': asset('text/javascript', "The browser client's DPoP key module, which the client imports"),
    '/healthz': {
      get: {
        summary: 'Liveness, store reachability and readable keys',
        responses: {
          200: ok('The store answers.', { type: 'object', properties: { status: { const: 'ok' } } }),
          503: problem('The store is unavailable, or the keys directory cannot be read (`keys_unreadable`).'),
        },
      },
    },
    '/livez': {
      get: {
        summary: 'Liveness: the process answers (restart it if not)',
        responses: { 200: ok('Alive.', { type: 'object', properties: { status: { const: 'ok' } } }) },
      },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: the store answers, the revocation copy is current and the keys are readable (send traffic)',
        responses: {
          200: ok('Ready.', { type: 'object', properties: { status: { const: 'ok' } } }),
          503: problem(
            'The store is unavailable or the revocation copy may be behind (`store_unavailable`), or the keys cannot be read (`keys_unreadable`).',
          ),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        security: [{ metricsToken: [] }],
        responses: {
          200: text('text/plain', 'Prometheus text format 0.0.4.'),
          401: problem('Missing or wrong metrics token.'),
          404: problem('Metrics are off.'),
        },
      },
    },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: ok('OpenAPI 3.1.', { type: 'object' }) } } },
    '/.well-known/jwks.json': {
      get: {
        summary: 'The public signing keys (RFC 7517), with kid, alg and use',
        responses: { 200: ok('A JWK set.', { type: 'object', properties: { keys: { type: 'array' } } }) },
      },
    },
    '/.well-known/oauth-authorization-server': {
      get: {
        summary: 'Authorization server metadata (RFC 8414)',
        responses: { 200: ok('The metadata.', { type: 'object', required: ['issuer'] }) },
      },
    },
    '/.well-known/openid-configuration': {
      get: {
        summary: 'OpenID Connect Discovery 1.0: the same metadata, where OpenID clients look for it',
        responses: {
          200: ok('The metadata.', { type: 'object', required: ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] }),
        },
      },
    },
    '/oauth/authorize': {
      get: {
        summary: 'Authorization request (OAuth 2.1 authorization code with PKCE S256; OpenID Connect)',
        description:
          'With a session that will do, a 303 to the redirect URI with `code`, `state` and `iss` (RFC 9207); without one, the sign-in page (or, with `prompt=none`, `error=login_required`). An unknown client or unregistered redirect URI is answered here, never redirected.',
        parameters: [
          'client_id',
          'redirect_uri',
          'response_type',
          'code_challenge',
          'code_challenge_method',
          'scope',
          'state',
          'nonce',
          'prompt',
          'max_age',
          'login_hint',
        ].map((name) => ({ name, in: 'query', required: ['client_id', 'response_type', 'code_challenge'].includes(name), schema: string })),
        responses: {
          200: text('text/html', 'The sign-in page, for this client.'),
          303: { description: 'Back to the client: a code, or an error, with `state` and `iss`.' },
          400: oauthError('invalid_request: unknown client or redirect URI'),
        },
      },
      post: {
        summary: "The sign-in page's decision once signed in: where the browser goes next",
        security: signedIn,
        requestBody: body({ query: string }, ['query']),
        responses: {
          200: ok('`{"redirect_to"}`: the client\'s redirect URI with a code, or an error.', { type: 'object', required: ['redirect_to'] }),
          400: oauthError('invalid_request; login_required (sign in, or sign in again for max_age)'),
        },
      },
    },
    '/oauth/token': {
      post: {
        summary: 'Token endpoint: authorization_code (with code_verifier) and refresh_token grants',
        description:
          'Confidential clients authenticate with client_secret_basic or client_secret_post, public clients with client_id alone. A code is good once: a second use revokes what the first gave.',
        security: [{ clientBasic: [] }, {}],
        requestBody: form(
          {
            grant_type: string,
            code: string,
            redirect_uri: string,
            code_verifier: string,
            refresh_token: string,
            client_id: string,
            client_secret: string,
          },
          ['grant_type'],
        ),
        responses: {
          200: ok('RFC 6749 §5.1: access_token, token_type, expires_in, refresh_token (hybrid), scope, id_token (scope openid).', {
            type: 'object',
            required: ['access_token', 'token_type', 'expires_in'],
          }),
          400: oauthError('invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type'),
          401: oauthError('invalid_client'),
          503: oauthError('temporarily_unavailable'),
        },
      },
    },
    '/oauth/logout': {
      get: {
        summary: 'RP-initiated logout (OpenID Connect end_session_endpoint)',
        description:
          "`id_token_hint` (required), `post_logout_redirect_uri` (registered), `state`, `client_id`: the session the ID token names ends (its client is told on the back channel), and the browser's own session here.",
        parameters: ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id'].map((name) => ({
          name,
          in: 'query',
          required: name === 'id_token_hint',
          schema: string,
        })),
        responses: {
          303: { description: 'To the post-logout redirect URI with `state`, or to the page.' },
          400: oauthError('invalid_request: no or a foreign ID token, or an unregistered redirect URI'),
        },
      },
    },
    '/oauth/userinfo': {
      get: {
        summary: 'OpenID Connect UserInfo',
        security: [{ bearer: [] }, { dpop: [] }],
        responses: {
          200: ok('`{"sub","preferred_username"}`', { type: 'object', required: ['sub'] }),
          401: unauthenticated,
        },
      },
    },
    '/auth/register': {
      post: {
        summary: 'Create an account',
        requestBody: { required: true, content: json(ref('Credentials')) },
        responses: {
          201: ok('Created.', { type: 'object', properties: { user: ref('User') } }),
          400: invalid,
          409: problem('The name is taken.'),
          413: tooLarge,
          429: problem('Too many registrations from this client (`Retry-After`).'),
          503: unavailable,
        },
      },
    },
    '/auth/login': {
      post: {
        summary: 'Log in',
        description:
          'Stateful: sets the session cookie. Stateless: the access token in the body. Hybrid: the access token in the body and the refresh handle as a cookie, or in the body with `"transport":"body"`.',
        parameters: [dpopProof],
        requestBody: body({ username: string, password: string, transport: { enum: ['cookie', 'body'] } }, ['username', 'password']),
        responses: {
          200: ok('Logged in.', tokenResponse),
          400: invalid,
          401: problem('`invalid_credentials`, the same for an unknown user and a wrong password.'),
          409: problem('`credentials_changed`: the credentials changed during the login.'),
          413: tooLarge,
          429: problem('Throttled (`Retry-After`).'),
          503: unavailable,
        },
      },
    },
    '/auth/me': {
      get: {
        summary: 'Who is calling',
        security: signedIn,
        responses: {
          200: ok('The user and the credential.', {
            type: 'object',
            properties: {
              user: ref('User'),
              auth: {
                type: 'object',
                properties: { strategy: string, session_id: { type: ['string', 'null'] }, expires_at: { type: ['string', 'null'] } },
              },
            },
          }),
          401: unauthenticated,
          503: unavailable,
        },
      },
    },
    '/auth/logout': {
      post: {
        summary: 'End this credential on every instance',
        security: signedIn,
        responses: { 204: ok('Logged out (also without a session).'), 401: unauthenticated, 503: unavailable },
      },
    },
    '/auth/logout-all': {
      post: {
        summary: 'End every session and token of the user',
        security: signedIn,
        responses: { 204: ok('Every credential is dead.'), 401: unauthenticated, 503: unavailable },
      },
    },
    '/auth/sessions': {
      get: {
        summary: "The user's devices",
        security: signedIn,
        responses: {
          200: ok('The sessions, the current one marked.', {
            type: 'object',
            properties: {
              sessions: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: string,
                    created_at: dateTime,
                    last_seen_at: dateTime,
                    expires_at: dateTime,
                    user_agent: { type: 'string', description: "The browser's User-Agent, or the OAuth client's name" },
                    ip: string,
                    current: { type: 'boolean' },
                    client_id: { type: 'string', description: 'The OAuth client the session was granted to, if any' },
                  },
                },
              },
            },
          }),
          401: unauthenticated,
          503: unavailable,
        },
      },
    },
    '/auth/sessions/{id}': {
      delete: {
        summary: 'End one of your devices',
        security: signedIn,
        parameters: [{ name: 'id', in: 'path', required: true, schema: string }],
        responses: { 204: ok('That device is dead.'), 401: unauthenticated, 404: problem('Not a session of yours.'), 503: unavailable },
      },
    },
    '/auth/password': {
      post: {
        summary: 'Change the password; every other credential of the user dies',
        security: signedIn,
        requestBody: body({ current_password: string, new_password: string }, ['current_password', 'new_password']),
        responses: { 204: ok('Changed.'), 400: invalid, 401: unauthenticated, 413: tooLarge, 429: problem('Throttled.'), 503: unavailable },
      },
    },
    '/auth/refresh': {
      post: {
        summary: 'Hybrid: a new access token (and the next refresh handle) from the refresh cookie or body',
        security: [{ refreshCookie: [] }, {}],
        parameters: [{ ...dpopProof, description: 'A DPoP proof (RFC 9449): required, of the same key, for a bound refresh handle.' }],
        requestBody: { required: false, content: json({ type: 'object', properties: { refresh_token: string } }) },
        responses: {
          200: ok('Renewed.', tokenResponse),
          401: problem('`refresh_token_invalid`, or `refresh_token_reused` (theft: the session is revoked).'),
          404: problem('Not a hybrid server.'),
          503: unavailable,
        },
      },
    },
    '/auth/token': {
      post: {
        summary: 'A short-lived token for a configured service, on behalf of the caller',
        security: signedIn,
        requestBody: body({ audience: string, scope: string }, ['audience']),
        responses: {
          200: ok('The token.', {
            type: 'object',
            properties: { access_token: string, token_type: { enum: ['Bearer', 'DPoP'] }, expires_in: integer, scope: string },
          }),
          400: problem('Invalid, or `invalid_target` (not a configured service), or `invalid_scope`.'),
          401: unauthenticated,
          503: unavailable,
        },
      },
    },
    '/oauth/introspect': {
      post: {
        summary: 'Token introspection (RFC 7662)',
        security: [{ clientBasic: [] }],
        requestBody: form({ token: string, token_type_hint: string }, ['token']),
        responses: {
          200: ok('`{"active":false}`, or the active token\'s claims.', { type: 'object', required: ['active'] }),
          400: oauthError('invalid_request'),
          401: oauthError('invalid_client'),
          503: oauthError('temporarily_unavailable'),
        },
      },
    },
    '/oauth/revoke': {
      post: {
        summary: 'Token revocation (RFC 7009)',
        security: [{ clientBasic: [] }],
        requestBody: form({ token: string, token_type_hint: string }, ['token']),
        responses: {
          200: ok('Revoked, or nothing to revoke.'),
          400: oauthError('invalid_request'),
          401: oauthError('invalid_client'),
          503: oauthError('temporarily_unavailable'),
        },
      },
    },
    '/revocations/stream': {
      get: {
        summary: 'The revocation list as Server-Sent Events, for services that verify tokens locally',
        description:
          'The entries in force, then each new one: `event: revocation`, `data: {"kind","value","expires_at","revoked_before"?}`, an `id:` to resume at with `Last-Event-ID`, and a heartbeat comment at least every second while this instance is current. See the README\'s revocation stream specification.',
        security: [{ clientBasic: [] }],
        parameters: [{ name: 'Last-Event-ID', in: 'header', required: false, schema: string }],
        responses: {
          200: text('text/event-stream', 'A stream that stays open.'),
          401: problem('Missing or wrong client credentials (`WWW-Authenticate: Basic`).'),
          503: unavailable,
        },
      },
    },
    '/admin/users/{id}/roles': {
      put: {
        summary: "Set a user's roles; the user's credentials end",
        security: signedIn,
        parameters: [{ name: 'id', in: 'path', required: true, schema: string }],
        requestBody: body({ roles: { type: 'array', items: string } }, ['roles']),
        responses: {
          200: ok('The user.', { type: 'object', properties: { user: ref('User') } }),
          400: invalid,
          401: unauthenticated,
          403: problem('Admins only.'),
          404: problem('No such user.'),
          503: unavailable,
        },
      },
    },
  },
} as const;
