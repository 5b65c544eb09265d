import { AuthenticationRequiredError, ForbiddenError } from '../base/errors.js';
import type { AuthContext, Identity } from '../base/types.js';

/** The identity, if the request is authenticated and holds every one of `roles`; otherwise throws. */
export function authorize(context: AuthContext | undefined, roles: readonly string[] = []): Identity {
  const user = context?.user;
  if (!user) throw context?.failure ?? new AuthenticationRequiredError();
  for (const role of roles) if (!user.roles.includes(role)) throw new ForbiddenError(roles);
  return user;
}
