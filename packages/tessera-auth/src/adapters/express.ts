import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { authorize } from '../core/authorize.js';
import type { Auth } from '../core/create-auth.js';
import type { AuthContext } from '../base/types.js';
import { createBearerContext, type BearerOptions } from '../http/bearer.js';
import { createAuthContext, failureScheme } from '../http/context.js';
import { toProblem } from '../http/problem.js';
import { refreshFromRequest, refreshResponseBody, TOKEN_RESPONSE_HEADERS } from '../http/refresh.js';
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

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value[0] : value;
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
}

/** Writes any error as RFC 9457 problem+json (with an RFC 6750 challenge for bearer requests). */
export function sendProblem(res: Response, error: unknown, scheme: 'cookie' | 'bearer' = 'cookie'): void {
  const problem = toProblem(error, scheme);
  res.status(problem.status).set(problem.headers).end(JSON.stringify(problem.body));
}

/** Puts `req.auth` on every request. */
export function tessera(auth: Auth): RequestHandler {
  return function tesseraAuth(req, res, next) {
    let context: ReturnType<typeof createAuthContext>;
    try {
      context = createAuthContext(auth, new ExpressRequestFacts(req), new ExpressResponseSink(res));
    } catch (error) {
      sendProblem(res, error, failureScheme(auth));
      return;
    }
    // No promise when none is needed: the stateless path stays synchronous.
    if (!(context instanceof Promise)) {
      req.auth = context;
      return next();
    }
    context.then(
      (resolved) => {
        req.auth = resolved;
        next();
      },
      (error: unknown) => sendProblem(res, error, failureScheme(auth)),
    );
  };
}

/**
 * Puts a read-only `req.auth` from the bearer token on every request: for resource services that
 * verify tokens (with a local key ring or a remote JWKS) and keep no sessions.
 */
export function bearer(options: BearerOptions): RequestHandler {
  return async function tesseraBearer(req, res, next) {
    try {
      req.auth = await createBearerContext(new ExpressRequestFacts(req), options);
    } catch (error) {
      sendProblem(res, error, 'bearer');
      return;
    }
    next();
  };
}

/**
 * The hybrid strategy's refresh route: takes `refresh_token` from a parsed JSON body (mobile, CLI)
 * or the refresh cookie (browsers) and answers `{access_token, token_type, expires_in,
 * refresh_token?}`. Mount it before `tessera()`: an expired access token must not block renewal.
 */
export function refreshTokens(auth: Auth): RequestHandler {
  return async function tesseraRefresh(req, res) {
    try {
      const body: unknown = req.body;
      const token = typeof body === 'object' && body !== null ? (body as { refresh_token?: unknown }).refresh_token : undefined;
      const result = await refreshFromRequest(auth, new ExpressRequestFacts(req), new ExpressResponseSink(res), token);
      res.set(TOKEN_RESPONSE_HEADERS).json(refreshResponseBody(result));
    } catch (error) {
      sendProblem(res, error);
    }
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

/** Error middleware: errors thrown by routes (TesseraErrors included) become problem+json. */
export function problemHandler(): ErrorRequestHandler {
  return function tesseraProblem(error, req, res, next) {
    if (res.headersSent) return next(error);
    sendProblem(res, error, req.auth?.scheme);
  };
}
