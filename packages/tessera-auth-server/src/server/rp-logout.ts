import type { RequestHandler } from 'express';
import { type Auth, createOAuthGrants, type TokenClaims } from 'tessera-auth';
import { createVerifier, type KeyRing } from 'tessera-auth/tokens';
import type { OAuthClient } from './oauth-clients.js';
import { OAuthProtocolError } from './oauth-error.js';

/** How old an `id_token_hint` may be: relying parties keep the ID token for their session's life. */
const HINT_MAX_AGE_MS = 24 * 3600_000;

/**
 * OpenID Connect RP-Initiated Logout 1.0 (`end_session_endpoint`): the relying party sends the
 * browser here with the ID token it holds (`id_token_hint`, required: a logout nobody can vouch for
 * is not taken); the session the ID token names ends, on every instance (and its client is told on
 * the back channel if it asked), and so does the browser's own session at this server. Then the
 * browser goes to the registered `post_logout_redirect_uri` with `state`, or to the page.
 */
export function rpInitiatedLogout(auth: Auth, clients: readonly OAuthClient[], keys: KeyRing): RequestHandler {
  const byId = new Map(clients.map((client) => [client.id, client]));
  const grants = auth.tokens ? createOAuthGrants(auth) : undefined;
  const issuer = auth.tokens?.issuer ?? '';

  /** The hint's claims once its signature and issuer hold; it may have expired (ID tokens live minutes). */
  const hintOf = (hint: string): TokenClaims => {
    const unverified = JSON.parse(Buffer.from(hint.split('.')[1] ?? '', 'base64url').toString('utf8') || 'null') as {
      iat?: unknown;
    } | null;
    const issuedAt = typeof unverified?.iat === 'number' ? unverified.iat * 1000 : NaN;
    if (!(auth.clock.now() - issuedAt <= HINT_MAX_AGE_MS)) throw new Error('too old');
    // Verified as of its own issue time: expiry is no reason to refuse a logout.
    const verify = createVerifier({ keys, typ: 'JWT', issuer, cacheSize: 0, clock: { now: () => issuedAt } });
    return verify(hint);
  };

  return async (req, res) => {
    res.set({ 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
    const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    const hint = query.get('id_token_hint');
    if (!hint) throw new OAuthProtocolError('invalid_request', 'id_token_hint is required: the ID token the client holds.');
    let claims: TokenClaims;
    try {
      claims = hintOf(hint);
    } catch {
      throw new OAuthProtocolError('invalid_request', 'id_token_hint is not an ID token of this server (or is over a day old).');
    }
    const client = typeof claims.aud === 'string' ? byId.get(claims.aud) : undefined;
    const named = query.get('client_id');
    if (!client || (named !== null && named !== client.id))
      throw new OAuthProtocolError('invalid_request', 'The ID token is not for this client.');
    const after = query.get('post_logout_redirect_uri');
    if (after !== null && !client.postLogoutRedirectUris?.includes(after))
      throw new OAuthProtocolError(
        'invalid_request',
        'post_logout_redirect_uri is not one this client registered: nothing was redirected.',
      );

    if (typeof claims.sid === 'string') await auth.endSession(claims.sid);
    const browser = await grants?.browserSession(req.headers.cookie);
    if (browser && browser.identity.id === claims.sub) await auth.endSession(browser.sessionId);

    if (after === null) return void res.redirect(303, '/');
    const target = new URL(after);
    const state = query.get('state');
    if (state !== null) target.searchParams.append('state', state);
    res.redirect(303, target.href);
  };
}
