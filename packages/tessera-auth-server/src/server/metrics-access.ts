import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AuthenticationRequiredError, NotFoundError, toProblem } from 'tessera-auth';
import { digest, MIN_CLIENT_SECRET_LENGTH } from './oauth-clients.js';

/**
 * Who may read `/metrics`: whoever holds the token (Prometheus sends it as a bearer credential),
 * everyone (`'public'`, for local development or a port only the monitoring network reaches), or
 * no one (`'off'`, the default: the page shows login counts, sessions and memory).
 */
export type MetricsAccess = { readonly token: string } | 'public' | 'off';

/** A metrics token is machine-made, like a client secret: long enough that a fast digest will do. */
export const MIN_METRICS_TOKEN_LENGTH = MIN_CLIENT_SECRET_LENGTH;

export function checkMetricsToken(token: string): string {
  if (token.length < MIN_METRICS_TOKEN_LENGTH)
    throw new TypeError(`The metrics token must be at least ${MIN_METRICS_TOKEN_LENGTH} characters.`);
  return token;
}

/** Runs before the metrics route: lets a request through only as `access` allows. */
export function guardMetrics(access: MetricsAccess): RequestHandler {
  if (access === 'public') return (_req, _res, next) => next();
  if (access === 'off') {
    return () => {
      throw new NotFoundError('Metrics are off: start the server with --metrics-token (or --public-metrics for local development).');
    };
  }
  const expected = digest(checkMetricsToken(access.token));
  return (req, res, next) => {
    const presented = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    // Digests of equal length: the comparison takes the same time whatever was presented.
    if (timingSafeEqual(digest(presented), expected)) return next();
    const refused = toProblem(new AuthenticationRequiredError('The metrics need their bearer token.'));
    res
      .status(refused.status)
      .set({ ...refused.headers, 'www-authenticate': 'Bearer realm="metrics"' })
      .json(refused.body);
  };
}
