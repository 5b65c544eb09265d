import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Auth } from 'tessera-auth';

/** A recount of the store's sessions is reused for this long: `/metrics` may be scraped by anyone. */
const SESSION_COUNT_MAX_AGE_MS = 5_000;

/**
 * The server's Prometheus metrics, in a registry of its own (several servers may share a process).
 * Counters are bumped by the telemetry hooks; gauges are read when scraped.
 */
export function createServerMetrics(auth: Auth, streamFollowers: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters fail Prometheus' lint (promtool check metrics); the same counts are
  // in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources, by type.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(name);
  const registers = [registry];

  let counted: { at: number; value: Promise<number> } | undefined;
  const countSessions = () => {
    if (!counted || Date.now() - counted.at > SESSION_COUNT_MAX_AGE_MS) {
      counted = { at: Date.now(), value: auth.store.sessions.count() };
      // A failed count is not kept: the next scrape tries again.
      counted.value.catch(() => (counted = undefined));
    }
    return counted.value;
  };

  const metrics = {
    registry,
    requests: new Counter({
      name: 'tessera_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    logins: new Counter({
      name: 'tessera_logins_total',
      help: 'Login attempts by outcome: success, failure, throttled.',
      labelNames: ['outcome'],
      registers,
    }),
    revocations: new Counter({
      name: 'tessera_revocations_total',
      help: 'Credentials revoked, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    backchannelLogouts: new Counter({
      name: 'tessera_backchannel_logouts_total',
      help: 'Back-channel logout tokens sent to OAuth clients, by outcome: delivered, failed (after the retries).',
      labelNames: ['outcome'],
      registers,
    }),
    oauthTokens: new Counter({
      name: 'tessera_oauth_tokens_total',
      help: 'Token endpoint answers with tokens, by grant type.',
      labelNames: ['grant_type'],
      registers,
    }),
    keyReloadFailures: new Counter({
      name: 'tessera_key_reload_failures_total',
      help: 'Reloads of the keys directory that failed (a file unreadable or invalid): the last keys read stay in use.',
      registers,
    }),
    acknowledgement: new Histogram({
      name: 'tessera_revocation_acknowledgement_seconds',
      help: 'How long a change that ends credentials (logout, password change …) waited until every instance sharing the store had applied it.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    unacknowledged: new Counter({
      name: 'tessera_revocation_unacknowledged_total',
      help: 'Changes answered although an instance still heard from had not applied them when the wait gave up (the staleness bound and a margin).',
      registers,
    }),
    storeErrors: new Counter({
      name: 'tessera_store_errors_total',
      help: 'Requests answered 503: the store or the revocation feed was unavailable.',
      labelNames: ['route'],
      registers,
    }),
  };

  new Gauge({
    name: 'tessera_active_sessions',
    help: 'Sessions the store holds that have not expired (all instances; recounted at most every 5 s).',
    registers,
    async collect() {
      try {
        this.set(await countSessions());
      } catch {
        metrics.storeErrors.inc({ route: '/metrics' });
      }
    },
  });

  new Gauge({
    name: 'tessera_revocation_feed_staleness_seconds',
    help: 'Seconds since this instance last heard from the shared revocation feed (0 without a feed); past the staleness bound (5 s) tokens get 503.',
    registers,
    collect() {
      this.set(auth.tokens?.feedSilenceSeconds() ?? 0);
    },
  });

  new Gauge({
    name: 'tessera_revocation_stream_followers',
    help: "Services following this instance's revocation stream (GET /revocations/stream) now.",
    registers,
    collect() {
      this.set(streamFollowers());
    },
  });

  return metrics;
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
