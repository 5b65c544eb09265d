import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  preHandlerHookHandler,
  RouteHandlerMethod,
} from 'fastify';
import { authorize } from '../core/authorize.js';
import type { Auth } from '../core/create-auth.js';
import type { AuthContext, CredentialScheme } from '../base/types.js';
import { createBearerContext, type BearerOptions } from '../http/bearer.js';
import type { ErrorReporter } from '../base/error-report.js';
import { authenticateThen, errorContext, firstHeader, problemAnswer, refreshAnswer, type Answer } from '../http/adapter-glue.js';
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

  get target() {
    return this.request.raw.url ?? this.request.url;
  }

  header(name: string): string | undefined {
    return firstHeader(this.request.headers[name]);
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

  setHeader(name: string, value: string): void {
    this.reply.header(name, value);
  }
}

// A Buffer, so Fastify keeps the content type as given (a string would gain "; charset=utf-8").
const send = (reply: FastifyReply, answer: Answer): FastifyReply =>
  reply.code(answer.status).headers(answer.headers).send(Buffer.from(answer.body));

/**
 * Writes any error as RFC 9457 problem+json (with an RFC 6750 challenge for bearer requests); an
 * unexpected one goes to `onError` first (default: a line on stderr).
 */
export function sendProblem(
  reply: FastifyReply,
  error: unknown,
  scheme: CredentialScheme = 'cookie',
  onError?: ErrorReporter,
): FastifyReply {
  return send(reply, problemAnswer(error, scheme, errorContext(onError, { method: reply.request.method, target: reply.request.url })));
}

/** The options of the `tessera` Fastify plugin. */
export interface TesseraPluginOptions {
  auth: Auth;
}

/**
 * Registers `request.auth` on every request of the instance and its children. Register it with
 * `app.register(tessera, { auth })`; its hook is not encapsulated, like a fastify-plugin plugin.
 *
 * @example
 * ```ts
 * await app.register(tessera, { auth });
 * app.get('/me', { preHandler: requireAuth() }, (request) => request.auth.user);
 * ```
 */
export async function tessera(fastify: FastifyInstance, options: TesseraPluginOptions): Promise<void> {
  const { auth } = options;
  fastify.decorateRequest('auth', null as unknown as AuthContext);
  const hook: onRequestHookHandler = function tesseraAuth(request, reply, done) {
    if (request.routeOptions.config.tessera === false) return done();
    authenticateThen(
      auth,
      new FastifyRequestFacts(request),
      new FastifyResponseSink(reply),
      (context) => {
        request.auth = context;
        done();
      },
      (answer) => void send(reply, answer),
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
 *
 * @example
 * ```ts
 * await app.register(bearer, { verify, remoteKeys: remote });
 * ```
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
    return send(reply, await refreshAnswer(auth, new FastifyRequestFacts(request), new FastifyResponseSink(reply), request.body));
  };
}

/**
 * For `app.setErrorHandler`: errors thrown by routes (TesseraErrors included) become problem+json.
 * An unexpected one (answered 500) goes to `onError` first, under the id the body carries.
 */
export function problemHandler(options: { onError?: ErrorReporter } = {}) {
  return function tesseraProblem(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
    return sendProblem(reply, error, request.auth?.scheme, options.onError);
  };
}
