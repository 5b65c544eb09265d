import type { Auth } from '../core/create-auth.js';
import { internalsOf, type AuthInternals } from '../core/internals.js';
import type { TokenStrategy } from '../core/strategy.js';
import type { TokenRuntime } from '../core/token-runtime.js';
import {
  AuthenticationRequiredError,
  CsrfError,
  DpopProofError,
  TesseraError,
  TokenInvalidError,
  UseDpopNonceError,
} from '../base/errors.js';
import type { AuthContext, CredentialScheme, DeviceSession, Identity, LoginOptions, LoginResult, SessionData } from '../base/types.js';
import type { TokenClaims } from '../tokens/verify.js';
import { BearerContext, readAuthorization } from './bearer.js';
import { clearedSessionCookie, readCookie } from './cookies.js';
import { isCsrfSafe } from './csrf.js';
import { checkSender, proofKey } from './dpop.js';
import type { RequestFacts, ResponseSink } from './request.js';
import { deliverTokens } from './token-delivery.js';

/**
 * Builds `req.auth` for the stateless and hybrid strategies: the bearer token is verified with the
 * key ring and checked against the in-memory revocation list. The request path touches no store,
 * and once the persisted revocations are loaded it is synchronous: no promise per request.
 */
export function createTokenContext(auth: Auth, request: RequestFacts, response: ResponseSink): AuthContext | Promise<AuthContext> {
  const internals = internalsOf(auth);
  const tokens = internals.tokens as TokenRuntime;
  if (!tokens.loaded) return tokens.ensureLoaded().then(() => tokenContext(auth, internals, tokens, request, response));
  return tokenContext(auth, internals, tokens, request, response);
}

function tokenContext(
  auth: Auth,
  internals: AuthInternals,
  tokens: TokenRuntime,
  request: RequestFacts,
  response: ResponseSink,
): AuthContext {
  const presented = readAuthorization(request);
  let token = presented?.token;
  let scheme: CredentialScheme = presented?.scheme ?? 'bearer';
  if (token === undefined && tokens.cookie) {
    token = readCookie(request.header('cookie'), auth.cookie.name);
    if (token !== undefined) scheme = 'cookie';
    // A cookie rides along on cross-site requests: the same guard as for session cookies.
    if (scheme === 'cookie' && !isCsrfSafe(request, auth.trustedOrigins)) throw new CsrfError();
  }
  if (token === undefined) return anonymousContext(auth, internals, tokens, request, response);
  try {
    if (token === null) throw new TokenInvalidError('malformed Authorization header');
    // A cached token is checked against the list like any other. A copy that may be missing
    // revocations is not trusted: 503, never accept blindly.
    const claims = tokens.verified(token, tokens.verify);
    const dpop = tokens.dpopSettings;
    const jkt = checkSender(claims, token, scheme, dpop, request, response, dpop.mode !== 'required');
    return new TokenContext(auth, internals, request, response, claims, scheme, null, jkt);
  } catch (error) {
    // A bad credential matters only where a route needs one: requireAuth answers with the reason.
    if (!(error instanceof TesseraError)) throw error;
    return new TokenContext(auth, internals, request, response, null, scheme, error);
  }
}

/**
 * A request without a token. One that carries a DPoP proof is about to log in: the proof is checked
 * now, so a route can refuse a bad one (or ask for a nonce) before it checks a password.
 */
function anonymousContext(auth: Auth, internals: AuthInternals, tokens: TokenRuntime, request: RequestFacts, response: ResponseSink) {
  if (request.header('dpop') === undefined || tokens.dpopSettings.mode === 'off')
    return new TokenContext(auth, internals, request, response, null, 'bearer');
  try {
    const jkt = proofKey(tokens.dpopSettings, request, response);
    return new TokenContext(auth, internals, request, response, null, 'bearer', null, jkt);
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    return new TokenContext(auth, internals, request, response, null, 'bearer', error);
  }
}

/**
 * `req.auth` of the stateless and hybrid strategies: everything about the request comes from the
 * verified claims; what the strategy does (login, rotate …) is the core's, this only moves
 * credentials in and out of cookies.
 */
class TokenContext extends BearerContext implements AuthContext {
  constructor(
    private readonly auth: Auth,
    private readonly internals: AuthInternals,
    private readonly request: RequestFacts,
    private readonly response: ResponseSink,
    claims: TokenClaims | null,
    scheme: CredentialScheme,
    failure: TesseraError | null = null,
    /** The key of the request's DPoP proof, checked when the context was made. */
    private readonly proofKey?: string,
  ) {
    super(claims, auth.strategy, failure, scheme);
  }

  private get core(): TokenStrategy {
    return this.internals.tokenStrategy as TokenStrategy;
  }

  override async login(identity: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    const transport = options.transport ?? 'cookie';
    // A login that sets a cookie is guarded like a session login (login CSRF plants the attacker's session).
    if (this.setsCookie(transport) && !isCsrfSafe(this.request, this.auth.trustedOrigins)) throw new CsrfError();
    const client = { userAgent: this.request.header('user-agent') ?? '', ip: this.request.ip };
    const previous = typeof this.claims?.sid === 'string' ? this.claims.sid : undefined;
    const jkt = this.loginKey();
    return deliverTokens(
      this.auth,
      this.response,
      await this.core.login(identity, client, { previous, generation: options.generation, jkt }),
      transport,
    );
  }

  /**
   * The DPoP key a login binds its tokens to, if the request proves one: checked when the context
   * was made (see `anonymousContext`), or now if a token the request also carried failed first.
   */
  private loginKey(): string | undefined {
    if (this.proofKey !== undefined) return this.proofKey;
    if (this.failure instanceof DpopProofError || this.failure instanceof UseDpopNonceError) throw this.failure;
    const dpop = (this.internals.tokens as TokenRuntime).dpopSettings;
    if (dpop.mode === 'off') return undefined;
    if (this.request.header('dpop') !== undefined) return proofKey(dpop, this.request, this.response);
    if (dpop.mode === 'required') throw new DpopProofError('this server issues DPoP-bound tokens only');
    return undefined;
  }

  override async logout(): Promise<void> {
    // A client logging out with a dead token is told so, not answered as if its session had ended.
    if (this.failure) throw this.failure;
    const sid = this.claims?.sid;
    // The session first: a store outage (503) leaves the cookies in place.
    if (typeof sid === 'string') await this.auth.endSession(sid);
    this.forgetCookies();
  }

  override async logoutAll(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const claims = this.current();
    const ended = await this.auth.revokeUser(
      claims.sub,
      options.keepCurrent && typeof claims.sid === 'string' ? { except: claims.sid } : {},
    );
    if (!options.keepCurrent) this.forgetCookies();
    return ended;
  }

  override async rotate(identity?: Identity, options: LoginOptions = {}): Promise<LoginResult> {
    return deliverTokens(this.auth, this.response, await this.core.rotate(this.current(), identity), options.transport ?? 'cookie');
  }

  override listSessions(): Promise<DeviceSession[]> {
    const claims = this.current();
    return this.internals.sessions.devicesOfUser(claims.sub, claims.sid);
  }

  override async revokeSession(id: string): Promise<boolean> {
    const ended = await this.internals.revoker.endOwnSession(this.current().sub, id);
    if (ended && id === this.claims?.sid) this.forgetCookies();
    return ended;
  }

  override updateData(update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>> {
    return this.core.updateData(this.current(), update);
  }

  private current(): TokenClaims {
    if (!this.claims) throw this.failure ?? new AuthenticationRequiredError();
    return this.claims;
  }

  private setsCookie(transport: 'cookie' | 'body'): boolean {
    return this.internals.hybrid ? transport === 'cookie' : this.internals.tokens?.cookie === true;
  }

  /**
   * The token cookie if the request came with one; the refresh cookie is cleared blindly (with a
   * custom `refresh.cookiePath` this request does not carry it): harmless when absent.
   */
  private forgetCookies(): void {
    if (this.scheme === 'cookie') this.response.appendSetCookie(clearedSessionCookie(this.auth.cookie));
    if (this.internals.hybrid) this.response.appendSetCookie(clearedSessionCookie(this.auth.refreshCookie));
  }
}
