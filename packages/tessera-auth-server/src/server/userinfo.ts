import type { RequestHandler } from 'express';
import { type Auth, createIntrospection, type Identity, TokenInvalidError } from 'tessera-auth';

/**
 * OpenID Connect UserInfo: who the access token speaks for. The token strategies read the request's
 * verified token (DPoP included); a stateful server, whose requests carry cookies, checks the
 * bearer token by introspection (signature, revocation list, the session behind it): a token for
 * another audience, or a client's own token, speaks for no user.
 */
export function userInfo(auth: Auth): RequestHandler {
  const introspection = createIntrospection(auth);
  return async (req, res) => {
    res.set('cache-control', 'no-store');
    let user: Pick<Identity, 'id' | 'name'>;
    if (auth.strategy === 'stateful') {
      const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const found = token === undefined ? undefined : await introspection.introspect(token);
      if (!found?.active || found.aud !== auth.tokens?.audience || typeof found.sid !== 'string')
        throw new TokenInvalidError('not an access token of this server');
      user = { id: String(found.sub), name: typeof found.username === 'string' ? found.username : undefined };
    } else {
      if (!req.auth.user) throw req.auth.failure ?? new TokenInvalidError('an access token is required');
      user = req.auth.user;
    }
    res.json({ sub: user.id, ...(user.name !== undefined && { preferred_username: user.name }) });
  };
}
