import { authorize } from '../core/authorize.js';
import type { Auth } from '../core/create-auth.js';
import { InvalidRequestError } from '../base/errors.js';
import type { AuthContext, CredentialScheme, Identity } from '../base/types.js';
import { createBearerContext, type BearerOptions } from '../http/bearer.js';
import { createAuthContext, failureScheme } from '../http/context.js';
import type { ErrorReporter } from '../base/error-report.js';
import { errorContext, problemAnswer, refreshAnswer, type Answer } from '../http/adapter-glue.js';
import type { RequestFacts, ResponseSink } from '../http/request.js';

/**
 * `tessera-auth/web`: the fetch-standard adapter, for any runtime with `Request` and `Response` (Node,
 * Bun, Deno, edge workers) and the frameworks built on them (Hono, Next.js route handlers).
 */

export interface WebOptions {
  /**
   * The client's address, which a `Request` does not carry: take it from the runtime (Bun's
   * `server.requestIP`, Hono's `getConnInfo`) or from a proxy header you trust. Default: empty.
   */
  ip?: (request: Request) => string;
}

/** Bodies Tessera reads itself (the refresh route) are capped before parsing. */
const MAX_BODY_BYTES = 16 * 1024;

class WebRequestFacts implements RequestFacts {
  constructor(
    private readonly request: Request,
    readonly ip: string,
  ) {}

  get method() {
    return this.request.method;
  }

  get target() {
    const url = new URL(this.request.url);
    return url.pathname + url.search;
  }

  header(name: string): string | undefined {
    return this.request.headers.get(name) ?? undefined;
  }
}

/** Collects the headers Tessera sets while a request is handled (cookies, `DPoP-Nonce`), for the response built later. */
class HeaderSink implements ResponseSink {
  readonly headers: [name: string, value: string][] = [];

  appendSetCookie(value: string): void {
    this.headers.push(['set-cookie', value]);
  }

  setHeader(name: string, value: string): void {
    this.headers.push([name, value]);
  }
}

/** One request's authentication: the context, and what its response must carry. */
export interface WebAuth {
  readonly context: AuthContext;
  /** Adds the headers set while handling the request (cookies of a login, logout or rotation; `DPoP-Nonce`) to `response`. */
  apply(response: Response): Response;
}

class AuthenticatedRequest implements WebAuth {
  constructor(
    readonly context: AuthContext,
    private readonly sink: HeaderSink,
  ) {}

  apply(response: Response): Response {
    return withHeaders(response, this.sink.headers);
  }
}

function withHeaders(response: Response, headers: readonly [string, string][]): Response {
  if (headers.length === 0) return response;
  const write = (target: Response) => {
    for (const [name, value] of headers) {
      if (name === 'set-cookie') target.headers.append(name, value);
      else target.headers.set(name, value);
    }
    return target;
  };
  // Responses from fetch() or Response.redirect() have immutable headers: copy those.
  try {
    return write(response);
  } catch {
    return write(new Response(response.body, response));
  }
}

/**
 * Builds the auth context of `request`: synchronously when the strategy needs no I/O (stateless and
 * hybrid, once warm), as a promise otherwise. Throws or rejects with a `TesseraError` (see
 * `problemResponse`); `await` it either way.
 */
export function authenticate(auth: Auth, request: Request, options: WebOptions = {}): WebAuth | Promise<WebAuth> {
  const sink = new HeaderSink();
  const context = createAuthContext(auth, new WebRequestFacts(request, options.ip?.(request) ?? ''), sink);
  return context instanceof Promise
    ? context.then((resolved) => new AuthenticatedRequest(resolved, sink))
    : new AuthenticatedRequest(context, sink);
}

/**
 * A resource service's context, from the bearer token alone (a local key ring or a remote JWKS,
 * and optionally the revocation feed): no session, no store trip. A bad token leaves it anonymous
 * with the reason in `failure`, which `requireAuth` throws.
 *
 * @example
 * ```ts
 * const context = await authenticateBearer(request, { verify });
 * const user = requireAuth(context, { roles: ['orders:read'] });
 * ```
 */
export function authenticateBearer(request: Request, options: BearerOptions): Promise<AuthContext> {
  return createBearerContext(new WebRequestFacts(request, ''), options);
}

const toResponse = (answer: Answer): Response => new Response(answer.body, { status: answer.status, headers: answer.headers });

/**
 * Any error as an RFC 9457 problem+json response (with an RFC 6750 challenge for bearer requests).
 * An unexpected one (answered 500) goes to `onError` first (default: a line on stderr), with the
 * method and path of `request`.
 */
export function problemResponse(
  error: unknown,
  scheme: CredentialScheme = 'cookie',
  options: { onError?: ErrorReporter | undefined; request?: Request } = {},
): Response {
  const { request, onError } = options;
  const context = request ? errorContext(onError, { method: request.method, target: new URL(request.url).pathname }) : { onError };
  return toResponse(problemAnswer(error, scheme, context));
}

/** The identity if authenticated with every one of `roles`; throws 401 or 403 otherwise. */
export function requireAuth(context: AuthContext, options: { roles?: readonly string[] } = {}): Identity {
  return authorize(context, options.roles);
}

/** A fetch handler that also gets the request's auth context. */
export type AuthenticatedHandler = (request: Request, auth: AuthContext) => Response | Promise<Response>;

/**
 * Wraps a fetch handler: authenticates the request, calls `handler` with its context, carries the
 * cookies it set, and turns thrown errors (TesseraErrors included) into problem+json.
 *
 * @example
 * ```ts
 * export default { fetch: withTessera(auth, async (request, auth) => Response.json(auth.user)) };
 * ```
 */
export function withTessera(auth: Auth, handler: AuthenticatedHandler, options: WebOptions = {}): (request: Request) => Promise<Response> {
  return async function tesseraFetch(request) {
    let authenticated: WebAuth;
    try {
      authenticated = await authenticate(auth, request, options);
    } catch (error) {
      return problemResponse(error, failureScheme(auth), { onError: auth.onError, request });
    }
    let response: Response;
    try {
      response = await handler(request, authenticated.context);
    } catch (error) {
      response = problemResponse(error, authenticated.context.scheme, { onError: auth.onError, request });
    }
    return authenticated.apply(response);
  };
}

/** A JSON body read with a size cap before parsing; undefined when there is none. */
async function readJsonBody(request: Request): Promise<unknown> {
  if (!request.body || !/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) return undefined;
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw new InvalidRequestError('The body is too large.');
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new InvalidRequestError('The body is too large.');
    }
    text += decoder.decode(chunk.value, { stream: true });
  }
  text += decoder.decode();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequestError('The body is not valid JSON.');
  }
}

/**
 * The hybrid strategy's refresh route as a fetch handler: `{refresh_token}` in a JSON body (mobile,
 * CLI) or the refresh cookie (browsers). It needs no access token: serve it outside `withTessera`.
 */
export async function refreshResponse(auth: Auth, request: Request, options: WebOptions = {}): Promise<Response> {
  const sink = new HeaderSink();
  let body: unknown;
  try {
    body = await readJsonBody(request);
  } catch (error) {
    return problemResponse(error);
  }
  const answer = await refreshAnswer(auth, new WebRequestFacts(request, options.ip?.(request) ?? ''), sink, body);
  return withHeaders(toResponse(answer), sink.headers);
}
