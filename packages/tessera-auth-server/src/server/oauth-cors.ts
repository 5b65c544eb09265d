import type { RequestHandler } from 'express';
import type { OAuthClient } from './oauth-clients.js';

/** The OAuth routes a browser app calls itself: the token endpoint and UserInfo. */
const BROWSER_CALLABLE = new Set(['/oauth/token', '/oauth/userinfo']);

/**
 * CORS for single-page apps (public clients): the token endpoint and UserInfo answer scripts from
 * the origins of the public clients' redirect URIs, and from no other. Never with credentials:
 * these routes take a client id, a code or a token, not cookies. Runs before the method guard, so
 * a preflight is answered here.
 */
export function oauthCors(clients: readonly OAuthClient[]): RequestHandler {
  const origins = new Set(
    clients
      .filter((client) => client.secretHash === undefined)
      .flatMap((client) => client.redirectUris ?? [])
      .map((uri) => new URL(uri).origin)
      .filter((origin) => origin !== 'null'),
  );
  return function corsForBrowserApps(req, res, next) {
    const origin = req.headers.origin;
    if (!BROWSER_CALLABLE.has(req.path) || origin === undefined || !origins.has(origin)) return next();
    res.vary('origin').set({
      'access-control-allow-origin': origin,
      'access-control-expose-headers': 'DPoP-Nonce, WWW-Authenticate',
    });
    if (req.method !== 'OPTIONS') return next();
    res
      .set({
        'access-control-allow-methods': req.path === '/oauth/token' ? 'POST' : 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type, dpop',
        'access-control-max-age': '600',
      })
      .status(204)
      .end();
  };
}
