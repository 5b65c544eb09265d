export { createAuth } from './core/create-auth.js';
export type { Auth, AuthOptions, CookieOptions, ResolvedCookie, SessionCacheOptions } from './core/create-auth.js';
export { authorize } from './core/authorize.js';
export { systemClock, type Clock } from './base/clock.js';
export * from './base/errors.js';
export { logUnexpectedError, type ErrorReporter, type UnexpectedError } from './base/error-report.js';
export type {
  AuthContext,
  CredentialScheme,
  DeviceSession,
  Identity,
  LoginOptions,
  LoginResult,
  SessionInfo,
  Strategy,
} from './base/types.js';
export type { AuthEvents, RefreshReusedEvent, SessionEndedEvent } from './core/hybrid.js';
export { createIntrospection, type Introspection, type Introspector } from './core/introspection.js';
export type { AuthTokens, DpopMode, DpopOptions, TokenStrategyOptions } from './core/token-runtime.js';
export type {
  Algorithm,
  DpopAlgorithm,
  DpopNonces,
  DpopProof,
  DpopRequest,
  DpopVerifier,
  IssuedToken,
  JsonWebKey,
  KeyRing,
  KeyRingEntry,
  KeyStatus,
  PublicJwk,
  RemoteKeySet,
  TokenClaims,
  TokenKey,
  Verifier,
} from './tokens/index.js';
export type { Acknowledged } from './revocation/acknowledgements.js';
export type { RevocableClaims, RevocationEntry } from './revocation/revocation-list.js';
export {
  createRevocationMirror,
  type RevocationEvents,
  type RevocationMirror,
  type RevocationMirrorOptions,
} from './revocation/revocation-mirror.js';
export { createMemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export type * from './stores/store.js';
export { toProblem, type ProblemDetails, type ProblemResponse } from './http/problem.js';
export { createAuthContext } from './http/context.js';
export { refreshFromRequest, TOKEN_RESPONSE_HEADERS, tokenResponseBody } from './http/refresh.js';
export { toOAuthError, type OAuthErrorResponse } from './http/oauth-error.js';
export {
  createOAuthGrants,
  type BrowserSession,
  type GrantOptions,
  type GrantRefreshOptions,
  type OAuthGrants,
} from './http/oauth-grants.js';
export { clientAddress, type RequestFacts, type ResponseSink } from './http/request.js';
export type { BearerOptions } from './http/bearer.js';
export type { DpopCheck } from './http/dpop.js';
