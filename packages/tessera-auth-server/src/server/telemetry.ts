import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Auth } from 'tessera-auth';
import { createLogger, type LogOptions } from './logger.js';
import { createServerMetrics } from './metrics.js';

/** What the server reports about its users' security, each as one log line and a metric. */
export type SecurityEvent =
  | 'registered'
  | 'login_succeeded'
  | 'login_failed'
  | 'login_throttled'
  | 'logout'
  | 'logout_all'
  | 'device_revoked'
  | 'password_changed'
  | 'roles_changed'
  | 'token_revoked'
  | 'refresh_token_reused'
  | 'oauth_authorized'
  | 'oauth_tokens_issued'
  | 'authorization_code_replayed'
  | 'backchannel_logout_delivered'
  | 'backchannel_logout_failed';

const LOGIN_OUTCOME: Partial<Record<SecurityEvent, string>> = {
  login_succeeded: 'success',
  login_failed: 'failure',
  login_throttled: 'throttled',
};

/** Events that kill credentials, by the `reason` label of `tessera_revocations_total`. */
const REVOCATION_REASON: Partial<Record<SecurityEvent, string>> = {
  logout: 'logout',
  logout_all: 'logout_all',
  device_revoked: 'device',
  password_changed: 'password_change',
  roles_changed: 'roles_change',
  token_revoked: 'oauth_revoke',
  refresh_token_reused: 'refresh_reuse',
  authorization_code_replayed: 'code_replay',
};

const WARNINGS: ReadonlySet<SecurityEvent> = new Set([
  'login_failed',
  'login_throttled',
  'refresh_token_reused',
  'authorization_code_replayed',
  'backchannel_logout_failed',
]);

/** Fields of security events: identifiers and facts, never a password, token or session id. */
export type EventFields = Record<string, string | number | boolean | readonly string[] | undefined>;

/** Labels for requests no route matched: the path itself would make the metric unbounded. */
const UNMATCHED = 'unmatched';

/**
 * Logs and metrics of one server: a line and a sample per request, a line and a counter per
 * security event, and the `/metrics` page.
 */
export function createTelemetry(auth: Auth, options: LogOptions = {}, streamFollowers: () => number = () => 0) {
  const logger: Logger = createLogger(options);
  const metrics = createServerMetrics(auth, streamFollowers);

  function security(event: SecurityEvent, fields: EventFields = {}): void {
    logger[WARNINGS.has(event) ? 'warn' : 'info']({ event, ...fields });
    const outcome = LOGIN_OUTCOME[event];
    if (outcome) metrics.logins.inc({ outcome });
    const reason = REVOCATION_REASON[event];
    if (reason) metrics.revocations.inc({ reason });
    if (event === 'oauth_tokens_issued') metrics.oauthTokens.inc({ grant_type: String(fields.grant_type) });
    if (event === 'backchannel_logout_delivered') metrics.backchannelLogouts.inc({ outcome: 'delivered' });
    if (event === 'backchannel_logout_failed') metrics.backchannelLogouts.inc({ outcome: 'failed' });
  }

  auth.revocationEvents?.on('acknowledged', ({ waitedMs, unacknowledged }) => {
    metrics.acknowledgement.observe(waitedMs / 1000);
    if (unacknowledged.length === 0) return;
    metrics.unacknowledged.inc();
    logger.warn({ event: 'revocation_unacknowledged', waited_ms: Math.round(waitedMs), instances: unacknowledged.length });
  });

  // Theft is worth a line: the session named here has been revoked with all its tokens.
  auth.events.on('refreshReused', (event) => security('refresh_token_reused', { user_id: event.userId, device_id: event.sessionId }));

  /** First middleware: one log line and one latency sample per request, aborted ones included. */
  const observeRequests: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : UNMATCHED;
      const status = res.writableFinished ? res.statusCode : 0;
      metrics.requests.inc({ method: req.method, route, status });
      metrics.duration.observe({ method: req.method, route }, seconds);
      // Tessera answers 503 only when the store (or the revocation feed) is unavailable.
      if (status === 503) metrics.storeErrors.inc({ route });
      logger[status >= 500 ? 'error' : 'info']({
        event: 'request',
        method: req.method,
        path: req.path,
        route,
        status,
        ...(status === 0 && { aborted: true }),
        ms: Math.round(seconds * 1e4) / 10,
        ip: req.ip,
      });
    });
    next();
  };

  const metricsRoute: RequestHandler = async (_req, res) => {
    res
      .type(metrics.registry.contentType)
      .set('cache-control', 'no-store')
      .send(await metrics.registry.metrics());
  };

  /** A failed reload of the keys directory: a line (on the first failure and when the reason changes) and a count. */
  let lastKeyError = '';
  const keyDirectoryFailed = (error: Error) => {
    metrics.keyReloadFailures.inc();
    if (error.message === lastKeyError) return;
    lastKeyError = error.message;
    logger.error(
      { event: 'keys_reload_failed', reason: error.message },
      'the keys directory could not be read: the last keys read stay in use',
    );
  };

  return { logger, security, observeRequests, metricsRoute, keyDirectoryFailed };
}

export type Telemetry = ReturnType<typeof createTelemetry>;
