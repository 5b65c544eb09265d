import { InvalidScopeError, InvalidTargetError } from 'tessera-auth';
import { AUDIENCE, checkAudience, checkScope, SCOPE_TOKEN } from './oauth-params.js';

/** A service the server mints tokens for, and the scopes a token for it may carry. */
export interface ServiceGrant {
  readonly audience: string;
  readonly scopes: readonly string[];
}

/**
 * Parses `AUDIENCE [SCOPE...]` (`--service "orders orders:read orders:write"`): the audience, then
 * the scopes a user may ask for. Commas are refused in scopes: lists of services are comma-separated.
 */
export function parseService(value: string): ServiceGrant {
  const [audience = '', ...scopes] = value.trim().split(/ +/);
  if (!AUDIENCE.test(audience) || !scopes.every((scope) => SCOPE_TOKEN.test(scope) && !scope.includes(','))) {
    throw new TypeError(
      `A service is its audience, then its scopes, space-separated; all printable, no commas: ${JSON.stringify(value.slice(0, 80))}`,
    );
  }
  return { audience, scopes: [...new Set(scopes)] };
}

/**
 * Checks a service-token request against the configured services: an audience not among them is
 * `invalid_target`, a scope its service does not grant `invalid_scope`. Without configured
 * services no service token is issued at all.
 */
export function createServiceGrants(services: readonly ServiceGrant[], ownAudience: string) {
  const byAudience = new Map(services.map((service) => [service.audience, new Set(service.scopes)]));
  return (audienceInput: unknown, scopeInput: unknown): { audience: string; scope: string | undefined } => {
    const audience = checkAudience(audienceInput, ownAudience);
    const scope = checkScope(scopeInput);
    const granted = byAudience.get(audience);
    if (!granted) throw new InvalidTargetError();
    const refused = scope?.split(' ').find((one) => !granted.has(one));
    if (refused !== undefined) throw new InvalidScopeError();
    return { audience, scope };
  };
}
