import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import {
  type Auth,
  type CounterStore,
  CredentialsChangedError,
  DpopProofError,
  type DpopProof,
  InvalidClientError,
  type LoginResult,
  type OAuthGrants,
  RefreshTokenInvalidError,
  RefreshTokenReusedError,
  TOKEN_RESPONSE_HEADERS,
  UseDpopNonceError,
} from 'tessera-auth';
import type { KeyRing } from 'tessera-auth/tokens';
import { CODE_TTL_MS, type CodeSealer } from './authorization-code.js';
import type { ClientThrottle } from './client-throttle.js';
import { createIdTokenIssuer } from './id-token.js';
import { claimedClientId, createTokenEndpointAuthenticator, type OAuthClient } from './oauth-clients.js';
import { OAuthProtocolError } from './oauth-error.js';
import { requiredText } from './oauth-params.js';
import { body } from './request-body.js';
import { createServiceGrants, type ServiceGrant } from './service-grants.js';
import type { Telemetry } from './telemetry.js';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const s256 = (verifier: string) => createHash('sha256').update(verifier, 'ascii').digest('base64url');

export interface TokenEndpointOptions {
  auth: Auth;
  /** The grants, or an OAuth error when the server has none. */
  grants: () => OAuthGrants;
  clients: readonly OAuthClient[];
  sealer: CodeSealer;
  /** What ID tokens are signed with. */
  keys: KeyRing;
  /** One use of each code, counted in the shared store. */
  counters: CounterStore;
  telemetry: Telemetry;
  /** The services client credentials tokens may name as their audience. */
  services: readonly ServiceGrant[];
  /** Failed token requests, slowed per client and address. */
  throttle: ClientThrottle;
}

/**
 * `POST /oauth/token` (RFC 6749 §3.2 with OAuth 2.1's grants: form-encoded, client-authenticated,
 * never cached): `authorization_code`, `refresh_token`, `client_credentials`, DPoP-aware.
 */
export function createTokenEndpoint(options: TokenEndpointOptions): RequestHandler {
  const { auth, counters, telemetry, sealer } = options;
  const idToken = createIdTokenIssuer(options.keys, auth.tokens?.issuer ?? '', auth.clock);
  const authenticateClient = createTokenEndpointAuthenticator(options.clients);
  const serviceGrant = auth.tokens && createServiceGrants(options.services, auth.tokens.audience);

  async function redeem(client: OAuthClient, input: Record<string, unknown>, ip: string, proof: DpopProof | undefined) {
    const grants = options.grants();
    const grant = sealer.open(requiredText(input.code, 'code'));
    const invalid = (why: string) => new OAuthProtocolError('invalid_grant', why);
    if (!grant || grant.clientId !== client.id || auth.clock.now() > grant.issuedAt + CODE_TTL_MS)
      throw invalid('The code is not valid for this client, or has expired.');
    if (input.redirect_uri !== grant.redirectUri) throw invalid('redirect_uri does not match the authorization request.');
    const verifier = input.code_verifier;
    if (typeof verifier !== 'string' || !CODE_VERIFIER.test(verifier))
      throw new OAuthProtocolError('invalid_request', 'code_verifier is required (PKCE).');
    const [computed, expected] = [Buffer.from(s256(verifier)), Buffer.from(grant.challenge)];
    if (computed.length !== expected.length || !timingSafeEqual(computed, expected))
      throw invalid('code_verifier does not match the code_challenge.');
    const uses = `oauth-code:${grant.id}`;
    // The first use wins, on any instance; any later one ends what the first was given (RFC 6749 §4.1.2).
    if ((await counters.add(uses, 1, 2 * CODE_TTL_MS)).count > 1) {
      const granted = await grants.grantedSessions(grant.userId, client.id, grant.issuedAt);
      await Promise.all(granted.map((id) => auth.endSession(id)));
      telemetry.security('authorization_code_replayed', { user_id: grant.userId, client_id: client.id, sessions: granted.length, ip });
      throw invalid('The code was already used; what it gave has been revoked.');
    }
    const identity = { id: grant.userId, name: grant.userName, roles: grant.roles };
    let result: LoginResult;
    try {
      result = await grants.grant(identity, {
        clientId: client.id,
        label: client.name ?? client.id,
        ip,
        generation: grant.generation,
        proof,
      });
    } catch (error) {
      if (error instanceof CredentialsChangedError) throw invalid("The user's credentials changed after the authorization.");
      throw error;
    }
    // A replay that arrived meanwhile, or the authorizing session ended since: nothing is handed out.
    const [count, authorizing] = await Promise.all([counters.get(uses), grants.session(grant.browserSession)]);
    if (count?.count !== 1 || !authorizing) {
      await auth.endSession(result.session.id);
      throw invalid(
        authorizing ? 'The code was already used; what it gave has been revoked.' : 'The session that authorized this code has ended.',
      );
    }
    const scopes = grant.scope.split(' ');
    return {
      ...tokenFields(result, client),
      ...(grant.scope !== '' && { scope: grant.scope }),
      ...(scopes.includes('openid') && {
        id_token: idToken({
          sub: grant.userId,
          clientId: client.id,
          authTime: grant.authTime,
          sid: result.session.id,
          nonce: grant.nonce,
          accessToken: result.accessToken!.token,
          name: scopes.includes('profile') ? grant.userName : undefined,
        }),
      }),
    };
  }

  async function refresh(client: OAuthClient, input: Record<string, unknown>, proof: DpopProof | undefined) {
    const handle = requiredText(input.refresh_token, 'refresh_token');
    try {
      return tokenFields(await options.grants().refresh(handle, { clientId: client.id, proof }), client);
    } catch (error) {
      if (error instanceof RefreshTokenInvalidError)
        throw new OAuthProtocolError('invalid_grant', 'The refresh token is not valid for this client.');
      if (error instanceof RefreshTokenReusedError) throw new OAuthProtocolError('invalid_grant', error.message);
      if (error instanceof DpopProofError) throw new OAuthProtocolError('invalid_dpop_proof', error.message);
      throw error;
    }
  }

  /**
   * A token for the client itself, for one configured service (RFC 8707 `resource`, or
   * `audience`), with scopes the service grants and the client registered.
   */
  function clientCredentials(client: OAuthClient, input: Record<string, unknown>, proof: DpopProof | undefined) {
    const tokens = auth.tokens;
    if (!tokens || !serviceGrant) throw new OAuthProtocolError('unsupported_grant_type', 'This server signs no tokens.');
    const { audience, scope } = serviceGrant(input.resource ?? input.audience, input.scope);
    const unregistered = scope?.split(' ').find((one) => !client.scopes?.includes(one));
    if (unregistered !== undefined)
      throw new OAuthProtocolError('invalid_scope', `This client did not register the scope ${unregistered}.`);
    const jkt = tokens.dpop.mode === 'off' ? undefined : proof?.jkt;
    const issued = tokens.issueForClient(client.id, audience, scope, jkt);
    return {
      access_token: issued.token,
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      expires_in: issued.expiresIn,
      ...(scope && { scope }),
    };
  }

  const tokenFields = (result: LoginResult, client: OAuthClient) => ({
    access_token: result.accessToken!.token,
    token_type: result.accessToken!.type,
    expires_in: result.accessToken!.expiresIn,
    ...(result.refreshToken !== undefined && client.grantTypes?.includes('refresh_token') && { refresh_token: result.refreshToken }),
  });

  /** RFC 9449 §5 at the token endpoint: its errors as §5.2 JSON with status 400 (and `DPoP-Nonce`, §8). */
  const dpopProof = (req: Request, res: Response): DpopProof | undefined => {
    const facts = { method: req.method, target: req.originalUrl, header: (name: string) => req.get(name), ip: req.ip ?? '' };
    const sink = {
      appendSetCookie: (value: string) => void res.append('set-cookie', value),
      setHeader: (name: string, value: string) => void res.set(name, value),
    };
    try {
      return options.grants().proof(facts, sink);
    } catch (error) {
      if (error instanceof UseDpopNonceError) {
        res.set('dpop-nonce', error.nonce);
        throw new OAuthProtocolError('use_dpop_nonce', error.message);
      }
      if (error instanceof DpopProofError) throw new OAuthProtocolError('invalid_dpop_proof', error.message);
      throw error;
    }
  };

  const token: RequestHandler = async (req, res) => {
    const input = body(req);
    const claimed = claimedClientId(req.headers.authorization, input);
    if (claimed === undefined) throw new InvalidClientError();
    const attempt = await options.throttle.check(claimed, req.ip ?? '');
    try {
      await grantTokens(req, res, input);
    } catch (error) {
      // A wrong secret, code, verifier or refresh token: a guess, counted.
      if (error instanceof InvalidClientError || (error instanceof OAuthProtocolError && error.error === 'invalid_grant'))
        await attempt.failed();
      throw error;
    }
  };

  async function grantTokens(req: Request, res: Response, input: Record<string, unknown>) {
    const client = authenticateClient(req.headers.authorization, input);
    const grantType = input.grant_type;
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token' && grantType !== 'client_credentials')
      throw new OAuthProtocolError('unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or client_credentials.');
    if (!client.grantTypes?.includes(grantType))
      throw new OAuthProtocolError('unauthorized_client', `This client may not use the ${grantType} grant.`);
    const proof = dpopProof(req, res);
    const answer =
      grantType === 'authorization_code'
        ? await redeem(client, input, req.ip ?? '', proof)
        : grantType === 'refresh_token'
          ? await refresh(client, input, proof)
          : clientCredentials(client, input, proof);
    telemetry.security('oauth_tokens_issued', { client_id: client.id, grant_type: grantType });
    res.set(TOKEN_RESPONSE_HEADERS).json(answer);
  }

  return token;
}
