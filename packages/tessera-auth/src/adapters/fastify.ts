import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler, RouteHandlerMethod } from 'fastify';
import { authorize } from '../core/authorize.js';
import type { Auth } from '../core/create-auth.js';
import type { AuthContext } from '../base/types.js';
import { createBearerContext, type BearerOptions } from '../http/bearer.js';
import { createAuthContext, failureScheme } from '../http/context.js';
import { toProblem } from '../http/problem.js';
import { refreshFromRequest, refreshResponseBody, TOKEN_RESPONSE_HEADERS } from '../http/refresh.js';
import type { RequestFacts, ResponseSink } from '../http/request.js';

/** `tessera-auth/fastify`: the same `request.auth` as the Express adapter, as a Fastify plugin and hooks. */
declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `tessera` plugin (null on routes with `config: { tessera: false }`). */
    auth: AuthContext;
  }
  interface FastifyContextConfig {
    /** `false` skips authentication on this route (the refresh route: an expired token must not block it). */
    tessera?: boolean;
  }
}

class FastifyRequestFacts implements RequestFacts {
  constructor(private readonly request: FastifyRequest) {}

  get method() {
    return this.request.method;
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /** Fastify resolves X-Forwarded-For only when its `trustProxy` option says so. */
  get ip() {
    return this.request.ip;
  }
}

class FastifyResponseSink implements ResponseSink {
  constructor(private readonly reply: FastifyReply) {}

  appendSetCookie(value: string): void {
    const current = this.reply.getHeader('set-cookie');
    const cookies = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
    this.reply.header('set-cookie', [...cookies, value]);
  }
}

/** Writes any error as RFC 9457 problem+json (with an RFC 6750 challenge for bearer requests). */
export function sendProblem(reply: FastifyReply, error: unknown, scheme: 'cookie' | 'bearer' = 'cookie'): FastifyReply {
  const problem = toProblem(error, scheme);
  // A Buffer, so Fastify keeps the content type as given (a string would gain "; charset=utf-8").
  return reply.code(problem.status).headers(problem.headers).send(Buffer.from(JSON.stringify(problem.body)));
}

export interface TesseraPluginOptions {
  auth: Auth;
}

/**
 * Registers `request.auth` on every request of the instance and its children. Register it with
 * `app.register(tessera, { auth })`; its hook is not encapsulated, like a fastify-plugin plugin.
 */
export async function tessera(fastify: FastifyInstance, options: TesseraPluginOptions): Promise<void> {
  const { auth } = options;
  fastify.decorateRequest('auth', null as unknown as AuthContext);
  const hook: onRequestHookHandler = function tesseraAuth(request, reply, done) {
    if (request.routeOptions.config.tessera === false) return done();
    let context: ReturnType<typeof createAuthContext>;
    try {
      context = createAuthContext(auth, new FastifyRequestFacts(request), new FastifyResponseSink(reply));
    } catch (error) {
      sendProblem(reply, error, failureScheme(auth));
      return;
    }
    // No promise when none is needed: the stateless path stays synchronous.
    if (!(context instanceof Promise)) {
      request.auth = context;
      return done();
    }
    context.then(
      (resolved) => {
        request.auth = resolved;
        done();
      },
      (error: unknown) => void sendProblem(reply, error, failureScheme(auth)),
    );
  };
  fastify.addHook('onRequest', hook);
}
// Fastify's documented switch (what fastify-plugin sets): the hook applies outside this plugin's scope.
Object.assign(tessera, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'tessera' });

/**
 * For resource services: a read-only `request.auth` from the bearer token on every request (a
 * local key ring or a remote JWKS, optionally the revocation feed), with no session and no store
 * trip. Register it like `tessera`: `app.register(bearer, { verify, remoteKeys, revocations })`.
 */
export async function bearer(fastify: FastifyInstance, options: BearerOptions): Promise<void> {
  fastify.decorateRequest('auth', null as unknown as AuthContext);
  fastify.addHook('onRequest', async (request) => {
    request.auth = await createBearerContext(new FastifyRequestFacts(request), options);
  });
}
Object.assign(bearer, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'tessera-bearer' });

/** A `preHandler`: 401 unless authenticated; 403 unless the user holds every one of `roles`. */
export function requireAuth(options: { roles?: readonly string[] } = {}): preHandlerHookHandler {
  const roles = [...(options.roles ?? [])];
  return function requireAuthentication(request, reply, done) {
    try {
      authorize(request.auth, roles);
    } catch (error) {
      sendProblem(reply, error, request.auth?.scheme);
      return;
    }
    done();
  };
}

/**
 * The hybrid strategy's refresh route: `{refresh_token}` in a JSON body (mobile, CLI) or the refresh
 * cookie (browsers). Declare it with `config: { tessera: false }`: an expired access token on the
 * request must not block renewal.
 */
export function refreshTokens(auth: Auth): RouteHandlerMethod {
  return async function tesseraRefresh(request, reply) {
    try {
      const body: unknown = request.body;
      const token = typeof body === 'object' && body !== null ? (body as { refresh_token?: unknown }).refresh_token : undefined;
      const result = await refreshFromRequest(auth, new FastifyRequestFacts(request), new FastifyResponseSink(reply), token);
      return reply.headers(TOKEN_RESPONSE_HEADERS).send(refreshResponseBody(result));
    } catch (error) {
      return sendProblem(reply, error);
    }
  };
}

/** For `app.setErrorHandler`: errors thrown by routes (TesseraErrors included) become problem+json. */
export function problemHandler() {
  return function tesseraProblem(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
    return sendProblem(reply, error, request.auth?.scheme);
  };
}
