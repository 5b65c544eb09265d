import { hash, timingSafeEqual } from 'node:crypto';
import { InvalidClientError } from 'tessera-auth';

/** A client allowed to introspect and revoke: its secret is kept only as a SHA-256 digest. */
export interface OAuthClient {
  readonly id: string;
  readonly secretHash: Buffer;
}

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
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
