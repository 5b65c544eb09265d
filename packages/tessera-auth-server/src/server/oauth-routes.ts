import express, { type Request, type RequestHandler } from 'express';
import { type Auth, createIntrospection, TOKEN_RESPONSE_HEADERS } from 'tessera-auth';
import { createClientAuthenticator, type OAuthClient } from './oauth-clients.js';
import { checkToken } from './oauth-params.js';
import { body } from './request-body.js';
import type { Telemetry } from './telemetry.js';

/**
 * The token endpoint, RFC 7662 introspection and RFC 7009 revocation, with form-encoded bodies.
 * Mounted at `/oauth`, whose errors the app answers in RFC 6749 §5.2 JSON.
 */
export function oauthRoutes(auth: Auth, clients: readonly OAuthClient[], telemetry: Telemetry, token: RequestHandler): express.Router {
  const router = express.Router({ caseSensitive: true });
  const authenticate = createClientAuthenticator(clients);
  const introspection = createIntrospection(auth);
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  const clientRequest = (req: Request) => {
    const input = body(req);
    const client = authenticate(req.headers.authorization, input);
    return { client, token: checkToken(input.token) };
  };

  router.post('/token', token);

  router.post('/introspect', async (req, res) => {
    const { token } = clientRequest(req);
    res.set(TOKEN_RESPONSE_HEADERS).json(await introspection.introspect(token));
  });

  router.post('/revoke', async (req, res) => {
    const { client, token } = clientRequest(req);
    await introspection.revoke(token);
    telemetry.security('token_revoked', { client_id: client });
    res.set('cache-control', 'no-store').status(200).end();
  });
  return router;
}
