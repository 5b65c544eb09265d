import type { RevocationMirror } from '../revocation/revocation-mirror.js';
import type { SessionManager } from '../sessions/session-manager.js';
import type { Auth } from './create-auth.js';
import type { HybridStrategy } from './hybrid.js';
import type { Revoker } from './revoker.js';
import type { StatefulStrategy } from './stateful.js';
import type { TokenStrategy } from './strategy.js';
import type { TokenRuntime } from './token-runtime.js';

/** What the library's own layers need of an Auth beyond its public face. */
export interface AuthInternals {
  readonly sessions: SessionManager;
  readonly revoker: Revoker;
  readonly tokens: TokenRuntime | undefined;
  /** This instance's copy of the revocation list (token strategies, cached sessions). */
  readonly revocations: RevocationMirror | undefined;
  readonly stateful: StatefulStrategy;
  /** Stateless and hybrid. */
  readonly tokenStrategy: TokenStrategy | undefined;
  readonly hybrid: HybridStrategy | undefined;
}

// A symbol no entry point exports: applications see the Auth interface, the adapters the rest.
const INTERNALS = Symbol('tessera-auth.internals');

type WithInternals = Auth & { readonly [INTERNALS]: AuthInternals };

export function attachInternals(auth: Auth, internals: AuthInternals): Auth {
  Object.defineProperty(auth, INTERNALS, { value: internals });
  return auth;
}

/** The internals of an Auth made by `createAuth`; a TypeError for anything else. */
export function internalsOf(auth: Auth): AuthInternals {
  const internals = (auth as WithInternals)[INTERNALS];
  if (!internals) throw new TypeError('Expected an Auth made by createAuth().');
  return internals;
}
