import type { Context, ErrorHandler, Handler, MiddlewareHandler } from 'hono';
import type { Auth } from '../core/create-auth.js';
import type { AuthContext, Identity } from '../base/types.js';
import { failureScheme } from '../http/context.js';
import type { BearerOptions } from '../http/bearer.js';
import type { ErrorReporter } from '../base/error-report.js';
import { authenticate, authenticateBearer, problemResponse, refreshResponse, requireAuth as authorize, type WebAuth } from './web.js';

/**
 * `tessera-auth/hono`: Hono middleware on the fetch-standard adapter (`tessera-auth/web`). Type your app with
 * `new Hono<TesseraEnv>()` and read `c.get('auth')`.
 */
export type TesseraEnv = { Variables: { auth: AuthContext } };

/** The environment after `requireAuth()`: the handlers behind it see a user, never null. */
export type AuthenticatedEnv = { Variables: { auth: AuthContext & { readonly user: Identity } } };

/** Options of the Hono middleware. */
export interface HonoOptions {
  /** The client's address, e.g. `(c) => getConnInfo(c).remote.address ?? ''` from your runtime's adapter. */
  ip?: (c: Context) => string;
}

const NO_IP = {};
const ipOf = (options: HonoOptions, c: Context) => (options.ip ? { ip: () => options.ip?.(c) ?? '' } : NO_IP);

/**
 * Sets `c.get('auth')` on every request and adds the cookies it sets to the response.
 *
 * @example
 * ```ts
 * const app = new Hono<TesseraEnv>();
 * app.use(tessera(auth));
 * app.get('/me', requireAuth(), (c) => c.json(c.get('auth').user));
 * ```
 */
export function tessera(auth: Auth, options: HonoOptions = {}): MiddlewareHandler<TesseraEnv> {
  return async function tesseraAuth(c, next) {
    let authenticated: WebAuth;
    try {
      const pending = authenticate(auth, c.req.raw, ipOf(options, c));
      // No await when none is needed: the token strategies' path stays synchronous.
      authenticated = pending instanceof Promise ? await pending : pending;
    } catch (error) {
      return problemResponse(error, failureScheme(auth), { onError: auth.onError, request: c.req.raw });
    }
    c.set('auth', authenticated.context);
    await next();
    const response = authenticated.apply(c.res);
    if (response !== c.res) c.res = response; // a copy, when the handler's headers were immutable
  };
}

/**
 * For resource services: sets a read-only `c.get('auth')` from the bearer token (see `tessera-auth/web`'s `authenticateBearer`).
 *
 * @example
 * ```ts
 * app.use(bearer({ verify, remoteKeys: remote }));
 * ```
 */
export function bearer(options: BearerOptions): MiddlewareHandler<TesseraEnv> {
  return async function tesseraBearer(c, next) {
    c.set('auth', await authenticateBearer(c.req.raw, options));
    await next();
  };
}

/**
 * 401 unless authenticated; 403 unless the user holds every one of `roles`. The handlers after it
 * get `c.get('auth').user` as an `Identity`, not `Identity | null`.
 */
export function requireAuth(options: { roles?: readonly string[] } = {}): MiddlewareHandler<AuthenticatedEnv> {
  return async function requireAuthentication(c, next) {
    const context = c.get('auth');
    try {
      authorize(context, options);
    } catch (error) {
      return problemResponse(error, context?.scheme);
    }
    await next();
  };
}

/** The hybrid strategy's refresh route. Mount it before `tessera()`: an expired access token must not block renewal. */
export function refreshTokens(auth: Auth, options: HonoOptions = {}): Handler {
  return (c) => refreshResponse(auth, c.req.raw, ipOf(options, c));
}

/**
 * For `app.onError`: errors thrown by routes (TesseraErrors included) become problem+json. An
 * unexpected one (answered 500) goes to `onError` first, under the id the body carries.
 */
export function problemHandler(options: { onError?: ErrorReporter } = {}): ErrorHandler<TesseraEnv> {
  return (error, c) => problemResponse(error, c.get('auth')?.scheme, { onError: options.onError, request: c.req.raw });
}
