import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { authorize } from '../core/authorize.js';
import type { Auth } from '../core/create-auth.js';
import type { AuthContext, CredentialScheme } from '../base/types.js';
import { createBearerContext, type BearerOptions } from '../http/bearer.js';
import type { ErrorReporter } from '../base/error-report.js';
import { authenticateThen, errorContext, firstHeader, problemAnswer, refreshAnswer, type Answer } from '../http/adapter-glue.js';
import { clientAddress, type RequestFacts, type ResponseSink } from '../http/request.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the `tessera()` middleware. */
    auth: AuthContext;
  }
}

/** The request as Tessera reads it; a class, so no closures are allocated per request. */
class ExpressRequestFacts implements RequestFacts {
  constructor(private readonly req: Request) {}

  get method() {
    return this.req.method;
  }

  /** The URL as received, before any router mounted the app (`req.url` may be shortened). */
  get target() {
    return this.req.originalUrl;
  }

  header(name: string): string | undefined {
    return firstHeader(this.req.headers[name]);
  }

  /** Express resolves X-Forwarded-For only when the app's 'trust proxy' setting says so. */
  get ip() {
    return clientAddress(this.req.ip, this.req.socket.remoteAddress);
  }
}

class ExpressResponseSink implements ResponseSink {
  constructor(private readonly res: Response) {}

  appendSetCookie(value: string): void {
    this.res.append('Set-Cookie', value);
  }

  setHeader(name: string, value: string): void {
    this.res.set(name, value);
  }
}

const send = (res: Response, answer: Answer): void => void res.status(answer.status).set(answer.headers).end(answer.body);

/**
 * Writes any error as RFC 9457 problem+json (with an RFC 6750 challenge for bearer requests); an
 * unexpected one goes to `onError` first (default: a line on stderr).
 */
export function sendProblem(res: Response, error: unknown, scheme: CredentialScheme = 'cookie', onError?: ErrorReporter): void {
  send(res, problemAnswer(error, scheme, errorContext(onError, { method: res.req.method, target: res.req.originalUrl })));
}

/** Options of the `tessera()` middleware. */
export interface TesseraOptions {
  /**
   * Also require authentication (and every one of `roles`) in the same middleware, for a router
   * whose routes are all protected: one Express layer instead of `tessera()` then `requireAuth()`.
   */
  require?: true | { roles?: readonly string[] };
}

/**
 * Puts `req.auth` on every request; with `require`, also answers 401 or 403 for a request that
 * lacks the user or roles (see `requireAuth`).
 *
 * @example
 * ```ts
 * app.use(express.json(), tessera(auth));
 * app.get('/me', requireAuth(), (req, res) => res.json(req.auth.user));
 * app.use('/admin', tessera(auth, { require: { roles: ['admin'] } }), adminRouter);
 * app.use(problemHandler());
 * ```
 */
export function tessera(auth: Auth, options: TesseraOptions = {}): RequestHandler {
  const required = options.require && { roles: [...((options.require !== true && options.require.roles) || [])] };
  return function tesseraAuth(req, res, next) {
    authenticateThen(
      auth,
      new ExpressRequestFacts(req),
      new ExpressResponseSink(res),
      (context) => {
        req.auth = context;
        if (required) {
          try {
            authorize(context, required.roles);
          } catch (error) {
            return sendProblem(res, error, context.scheme, auth.onError);
          }
        }
        next();
      },
      (answer) => send(res, answer),
    );
  };
}

/**
 * Puts a read-only `req.auth` from the bearer token on every request: for resource services that
 * verify tokens (with a local key ring or a remote JWKS) and keep no sessions.
 *
 * @example
 * ```ts
 * app.use(bearer({ verify, remoteKeys: remote }));
 * app.get('/orders', requireAuth({ roles: ['orders:read'] }), listOrders);
 * ```
 */
export function bearer(options: BearerOptions): RequestHandler {
  return async function tesseraBearer(req, res, next) {
    try {
      req.auth = await createBearerContext(new ExpressRequestFacts(req), options);
    } catch (error) {
      sendProblem(res, error, 'bearer', options.onError);
      return;
    }
    next();
  };
}

/**
 * The hybrid strategy's refresh route: takes `refresh_token` from a parsed JSON body (mobile, CLI)
 * or the refresh cookie (browsers) and answers with `access_token`, `token_type`, `expires_in`
 * and, for the body transport, `refresh_token`. Mount it before `tessera()`: an expired access token must not block renewal.
 */
export function refreshTokens(auth: Auth): RequestHandler {
  return async function tesseraRefresh(req, res) {
    send(res, await refreshAnswer(auth, new ExpressRequestFacts(req), new ExpressResponseSink(res), req.body));
  };
}

/** 401 unless authenticated; 403 unless the user holds every one of `roles`. */
export function requireAuth(options: { roles?: readonly string[] } = {}): RequestHandler {
  const roles = [...(options.roles ?? [])];
  return function requireAuthentication(req, res, next) {
    try {
      authorize(req.auth, roles);
    } catch (error) {
      sendProblem(res, error, req.auth?.scheme);
      return;
    }
    next();
  };
}

/**
 * Error middleware: errors thrown by routes (TesseraErrors included) become problem+json. An
 * unexpected one (answered 500) goes to `onError` first, under the id the body carries (default:
 * a line on stderr).
 */
export function problemHandler(options: { onError?: ErrorReporter } = {}): ErrorRequestHandler {
  return function tesseraProblem(error, req, res, next) {
    if (res.headersSent) return next(error);
    sendProblem(res, error, req.auth?.scheme, options.onError);
  };
}
