import { createHash, randomBytes } from 'node:crypto';

/** A PKCE pair (RFC 7636, S256): the verifier the client keeps, the challenge it sends. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The path and query of an authorization request for a code with PKCE; parameters set to undefined are left out. */
export function authorizationPath(parameters: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) query.append(name, value);
  return `/oauth/authorize?${query}`;
}

/** A client's credentials for HTTP Basic. */
export interface ClientSecret {
  readonly id: string;
  readonly secret: string;
}

/** A form-encoded token endpoint request (HTTP Basic with `client`): its status, headers and JSON body. */
export async function tokenRequest(
  serverUrl: string,
  fields: Record<string, string>,
  client?: ClientSecret,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, string> }> {
  const response = await fetch(`${serverUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      ...headers,
      'content-type': 'application/x-www-form-urlencoded',
      ...(client && { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` }),
    },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, string> };
}
