import { readFileSync } from 'node:fs';
import { CLIENT_ID, digest, LOOPBACK_HOSTS, MIN_CLIENT_SECRET_LENGTH, type GrantType, type OAuthClient } from './oauth-clients.js';
import { SCOPE_TOKEN } from './oauth-params.js';

const GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials'];
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
const KNOWN = new Set([
  'client_id',
  'client_secret',
  'client_name',
  'redirect_uris',
  'grant_types',
  'response_types',
  'token_endpoint_auth_method',
  'scope',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'post_logout_redirect_uris',
]);

/**
 * A redirect URI a client may register (RFC 8252, OAuth 2.1 §2.3): https; http only on a loopback
 * address (native apps); a private-use scheme in reverse domain form (`com.example.app:/callback`).
 * Never a fragment.
 */
export function checkRedirectUri(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError('a redirect URI is a string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${JSON.stringify(value)} is not an absolute URI`);
  }
  if (url.hash !== '' || value.includes('#')) throw new TypeError(`${value} has a fragment`);
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https') return value;
  if (scheme === 'http') {
    if (LOOPBACK_HOSTS.has(url.hostname)) return value;
    throw new TypeError(`${value} is plain http: only loopback addresses (127.0.0.1, [::1]) may use http, for native apps`);
  }
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/.test(scheme) && !['javascript', 'data', 'file', 'vbscript'].includes(scheme)) return value;
  throw new TypeError(`${value}: a redirect URI is https, loopback http, or a private-use scheme like com.example.app:/callback`);
}

/** One RFC 7591 client metadata object, checked; `where` names it in errors. */
function parseClientMetadata(input: unknown, where: string): OAuthClient {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError(`${where} must be an object`);
  const metadata = input as Record<string, unknown>;
  const unknown = Object.keys(metadata).find((key) => !KNOWN.has(key));
  if (unknown !== undefined) throw new TypeError(`${where} has "${unknown}", which is not a client metadata field Tessera reads`);
  const id = metadata.client_id;
  if (typeof id !== 'string' || !CLIENT_ID.test(id)) throw new TypeError(`${where}: client_id must be 1 to 64 letters, digits and . _ ~ -`);
  const at = `client "${id}"`;
  const method = metadata.token_endpoint_auth_method ?? (metadata.client_secret === undefined ? 'none' : 'client_secret_basic');
  if (!AUTH_METHODS.includes(method as (typeof AUTH_METHODS)[number]))
    throw new TypeError(`${at}: token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
  const secret = metadata.client_secret;
  if (method === 'none' && secret !== undefined)
    throw new TypeError(`${at}: a public client (token_endpoint_auth_method none) has no client_secret`);
  if (method !== 'none' && (typeof secret !== 'string' || secret.length < MIN_CLIENT_SECRET_LENGTH))
    throw new TypeError(`${at}: client_secret must be at least ${MIN_CLIENT_SECRET_LENGTH} characters (openssl rand -base64 32)`);
  const grantTypes = metadata.grant_types ?? ['authorization_code'];
  if (!Array.isArray(grantTypes) || !grantTypes.every((grant) => GRANT_TYPES.includes(grant as GrantType)))
    throw new TypeError(`${at}: grant_types may hold ${GRANT_TYPES.join(', ')} (the password and implicit grants are not offered)`);
  if (method === 'none' && grantTypes.includes('client_credentials'))
    throw new TypeError(`${at}: client_credentials needs a confidential client (a client_secret)`);
  if (metadata.response_types !== undefined && JSON.stringify(metadata.response_types) !== '["code"]')
    throw new TypeError(`${at}: response_types may only be ["code"]`);
  const redirectUris = metadata.redirect_uris ?? [];
  if (!Array.isArray(redirectUris)) throw new TypeError(`${at}: redirect_uris must be an array`);
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0)
    throw new TypeError(`${at}: the authorization_code grant needs redirect_uris`);
  const checkUris = (uris: unknown[]) =>
    uris.map((uri) => {
      try {
        return checkRedirectUri(uri);
      } catch (error) {
        throw new TypeError(`${at}: ${(error as Error).message}`, { cause: error });
      }
    });
  const checked = checkUris(redirectUris);
  const afterLogout = metadata.post_logout_redirect_uris ?? [];
  if (!Array.isArray(afterLogout)) throw new TypeError(`${at}: post_logout_redirect_uris must be an array`);
  const name = metadata.client_name;
  if (name !== undefined && (typeof name !== 'string' || name.length > 100 || /\p{Cc}/u.test(name)))
    throw new TypeError(`${at}: client_name must be a string of at most 100 printable characters`);
  const scope = metadata.scope;
  if (scope !== undefined && (typeof scope !== 'string' || !scope.split(' ').every((token) => SCOPE_TOKEN.test(token))))
    throw new TypeError(`${at}: scope must be space-separated scope tokens`);
  const logout = metadata.backchannel_logout_uri;
  if (logout !== undefined && (typeof logout !== 'string' || !/^https?:\/\//.test(logout) || logout.includes('#')))
    throw new TypeError(`${at}: backchannel_logout_uri must be an http(s) URL without fragment`);
  return {
    id,
    ...(typeof secret === 'string' && { secretHash: digest(secret) }),
    ...(typeof name === 'string' && { name }),
    redirectUris: checked,
    grantTypes: grantTypes as GrantType[],
    ...(typeof scope === 'string' && { scopes: scope.split(' ') }),
    ...(typeof logout === 'string' && { backchannelLogoutUri: logout }),
    ...(afterLogout.length > 0 && { postLogoutRedirectUris: checkUris(afterLogout) }),
  };
}

/** The clients of a `--clients-file`: a JSON array of RFC 7591 client metadata objects, checked. */
export function readClientsFile(path: string): OAuthClient[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TypeError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(parsed)) throw new TypeError(`${path} must hold a JSON array of client metadata objects`);
  const clients = parsed.map((entry, index) => parseClientMetadata(entry, `${path}, entry ${index + 1}`));
  const ids = new Set<string>();
  for (const client of clients) {
    if (ids.has(client.id)) throw new TypeError(`${path}: client_id "${client.id}" appears twice`);
    ids.add(client.id);
  }
  return clients;
}
