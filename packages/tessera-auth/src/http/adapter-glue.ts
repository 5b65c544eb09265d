import type { Auth } from '../core/create-auth.js';
import type { AuthContext, CredentialScheme } from '../base/types.js';
import { createAuthContext, failureScheme } from './context.js';
import { isUnexpected, reportUnexpected, type ErrorReporter } from '../base/error-report.js';
import { toProblem } from './problem.js';
import { refreshFromRequest, refreshResponseBody, TOKEN_RESPONSE_HEADERS } from './refresh.js';
import type { RequestFacts, ResponseSink } from './request.js';

/** What the glue below asks an adapter to write: a status, headers and a body already serialised. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Where an adapter reports unexpected errors, and the request they broke. */
export interface ErrorContext {
  readonly onError?: ErrorReporter | undefined;
  readonly method?: string;
  readonly path?: string;
}

/**
 * Any error as RFC 9457 problem+json (with an RFC 6750 challenge for bearer requests). An
 * unexpected one (a 500) is reported first, under the id its body carries.
 */
export function problemAnswer(error: unknown, scheme: CredentialScheme = 'cookie', context: ErrorContext = {}): Answer {
  const errorId = isUnexpected(error) ? reportUnexpected(error, context.onError, context) : undefined;
  const problem = toProblem(error, scheme, errorId);
  return { status: problem.status, headers: problem.headers, body: JSON.stringify(problem.body) };
}

/** The error context of a request: its method and path (never the query, which may carry secrets). */
export const errorContext = (
  onError: ErrorReporter | undefined,
  request: { method: string; target?: string | undefined },
): ErrorContext => ({
  onError,
  method: request.method,
  path: request.target?.split('?')[0] ?? '',
});

/** Node's header value: the first of repeated ones. */
export const firstHeader = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/**
 * Authenticates a request for a callback-style framework (Express, Fastify): `proceed` gets the
 * context, `fail` the problem to answer with. No promise when none is needed: the token
 * strategies' path stays synchronous.
 */
export function authenticateThen(
  auth: Auth,
  request: RequestFacts,
  response: ResponseSink,
  proceed: (context: AuthContext) => void,
  fail: (answer: Answer) => void,
): void {
  let context: AuthContext | Promise<AuthContext>;
  try {
    context = createAuthContext(auth, request, response);
  } catch (error) {
    return fail(problemAnswer(error, failureScheme(auth), errorContext(auth.onError, request)));
  }
  if (!(context instanceof Promise)) return proceed(context);
  context.then(proceed, (error: unknown) => fail(problemAnswer(error, failureScheme(auth), errorContext(auth.onError, request))));
}

/**
 * The hybrid strategy's refresh exchange from a parsed body (`refresh_token`: mobile, CLI) or the
 * refresh cookie (browsers), as the answer to write; never rejects.
 */
export async function refreshAnswer(auth: Auth, request: RequestFacts, response: ResponseSink, body: unknown): Promise<Answer> {
  try {
    const token = typeof body === 'object' && body !== null ? (body as { refresh_token?: unknown }).refresh_token : undefined;
    const result = await refreshFromRequest(auth, request, response, token);
    return {
      status: 200,
      headers: { ...TOKEN_RESPONSE_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify(refreshResponseBody(result)),
    };
  } catch (error) {
    return problemAnswer(error, 'cookie', errorContext(auth.onError, request));
  }
}
