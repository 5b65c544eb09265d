import { hash, timingSafeEqual } from 'node:crypto';
import { InvalidClientError } from 'tessera-auth';

/** The grants a client may use at the token endpoint. */
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/**
 * An OAuth client. Confidential clients (a secret, kept only as a SHA-256 digest) may introspect,
 * revoke and follow the revocation stream; public ones (no secret: SPAs, native apps) only take
 * part in the authorization code flow, with PKCE.
 */
export interface OAuthClient {
  readonly id: string;
  /** Absent for a public client (`token_endpoint_auth_method: none`). */
  readonly secretHash?: Buffer | undefined;
  /** What the user sees: on the sign-in page and in the device list (default: the id). */
  readonly name?: string | undefined;
  /** Compared exactly (a loopback URI registered without a port matches any port, RFC 8252 §7.3). */
  readonly redirectUris?: readonly string[] | undefined;
  readonly grantTypes?: readonly GrantType[] | undefined;
  /** The scopes it may ask for beyond `openid`, `profile` and `offline_access`. */
  readonly scopes?: readonly string[] | undefined;
  readonly backchannelLogoutUri?: string | undefined;
  /** Where RP-initiated logout may send the browser afterwards (compared exactly). */
  readonly postLogoutRedirectUris?: readonly string[] | undefined;
}

/** A client id: 1 to 64 URL-safe characters. */
export const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
/** The loopback addresses native apps' redirect URIs may use over plain http (RFC 8252 §7.3). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]']);
/**
 * Client secrets are machine-made (e.g. `openssl rand -base64 32`), not passwords: with that much
 * entropy a fast digest is enough, and introspection stays cheap per call.
 */
export const MIN_CLIENT_SECRET_LENGTH = 32;

/** Machine-made secrets (client secrets, the metrics token) are compared as digests: equal length, constant time. */
export const digest = (secret: string) => hash('sha256', secret, 'buffer');

/** Parses `ID:SECRET`; the plain secret goes no further than this function. */
export function parseClient(value: string): OAuthClient {
  const colon = value.indexOf(':');
  const id = value.slice(0, colon);
  const secret = value.slice(colon + 1);
  if (colon < 1 || !CLIENT_ID.test(id)) throw new TypeError('A client is ID:SECRET, the id made of letters, digits and . _ ~ -');
  if (secret.length < MIN_CLIENT_SECRET_LENGTH)
    throw new TypeError(`The secret of client "${id}" must be at least ${MIN_CLIENT_SECRET_LENGTH} characters.`);
  return { id, secretHash: digest(secret) };
}

/**
 * HTTP Basic credentials. RFC 6749 §2.3.1 has both halves form-urlencoded before they are joined,
 * but `curl -u` and many libraries send them raw: a `+` in a secret (`openssl rand -base64`) is
 * then meant as itself. Both readings are offered; a real secret matches at most one of them.
 */
function basicCredentials(header: string | undefined): { id: string; secrets: string[] } | null {
  const match = header && /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  const formDecoded = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  };
  return { id: formDecoded(id) ?? id, secrets: [...new Set([formDecoded(secret) ?? secret, secret])] };
}

/** The client id a request claims (Basic, or `client_id` in the body), before anything is checked. */
export function claimedClientId(authorization: string | undefined, body: Record<string, unknown>): string | undefined {
  return basicCredentials(authorization)?.id ?? (typeof body.client_id === 'string' ? body.client_id.slice(0, 128) : undefined);
}

/**
 * Authenticates the calling client by HTTP Basic (`client_secret_basic`) or by `client_id` and
 * `client_secret` in the body (`client_secret_post`). An unknown id costs the same digests and
 * comparisons as a wrong secret, and both fail alike.
 */
export function createClientAuthenticator(clients: readonly OAuthClient[]) {
  const byId = new Map(clients.map((client) => [client.id, client]));
  const decoy = digest('no such client');
  return (authorization: string | undefined, body: Record<string, unknown>): string => {
    // Says nothing about any client: there is none. The operator's mistake, named.
    if (byId.size === 0) throw new InvalidClientError('This server has no OAuth clients: start it with --client ID:SECRET.');
    const credentials =
      basicCredentials(authorization) ??
      (typeof body.client_id === 'string' && typeof body.client_secret === 'string'
        ? { id: body.client_id, secrets: [body.client_secret] }
        : null);
    if (!credentials) throw new InvalidClientError();
    const client = byId.get(credentials.id);
    const expected = client?.secretHash ?? decoy;
    // Every reading is compared, whatever the first one gave: the time taken tells nothing.
    const matches = credentials.secrets.map((secret) => timingSafeEqual(digest(secret), expected)).includes(true);
    if (!client || !matches) throw new InvalidClientError();
    return client.id;
  };
}

/**
 * The client calling the token endpoint: a confidential one by its secret (Basic or the body), a
 * public one by `client_id` alone. A public client that sends a secret, or a confidential one that
 * sends none, is refused.
 */
export function createTokenEndpointAuthenticator(clients: readonly OAuthClient[]) {
  const byId = new Map(clients.map((client) => [client.id, client]));
  const confidential = createClientAuthenticator(clients.filter((client) => client.secretHash !== undefined));
  return (authorization: string | undefined, body: Record<string, unknown>): OAuthClient => {
    const sendsSecret = authorization !== undefined || body.client_secret !== undefined;
    if (sendsSecret) return byId.get(confidential(authorization, body))!;
    const client = typeof body.client_id === 'string' ? byId.get(body.client_id) : undefined;
    if (!client || client.secretHash !== undefined) throw new InvalidClientError();
    return client;
  };
}
