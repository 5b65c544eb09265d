import { type Auth, type SessionEndedEvent } from 'tessera-auth';
import { createTokenIssuer, type KeyRing } from 'tessera-auth/tokens';
import type { OAuthClient } from './oauth-clients.js';
import type { Telemetry } from './telemetry.js';

/** OpenID Connect Back-Channel Logout 1.0 §2.4: the event a logout token carries. */
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Seconds before each retry of a delivery that failed; then it is given up (and logged). */
const RETRY_DELAYS_S = [1, 5, 30];

export interface BackchannelLogoutOptions {
  auth: Auth;
  clients: readonly OAuthClient[];
  keys: KeyRing;
  telemetry: Telemetry;
  /** How long one delivery may take (default 5 s). */
  timeoutMs?: number;
}

/**
 * Back-Channel Logout: whenever this instance ends a session granted to a client with a
 * `backchannel_logout_uri` (logout, logout everywhere, a credential change, a revoked device, a
 * reused refresh token), the client is sent a logout token naming the session (`sid`) and user, so
 * the relying party ends its own session too. Each instance tells of the ends it makes: one
 * delivery per end, whichever instance it happened at. Deliveries are retried a few times in this
 * process; they are not kept across a restart.
 */
export function createBackchannelLogout(options: BackchannelLogoutOptions) {
  const { auth, telemetry } = options;
  const listening = new Map(options.clients.filter((client) => client.backchannelLogoutUri).map((client) => [client.id, client]));
  const timers = new Set<NodeJS.Timeout>();
  if (listening.size === 0 || !auth.tokens) return { close() {} };
  const sign = createTokenIssuer({ keys: options.keys, issuer: auth.tokens.issuer, ttlSeconds: 120, typ: 'logout+jwt', clock: auth.clock });

  async function deliver(client: OAuthClient, event: SessionEndedEvent, attempt: number): Promise<void> {
    // Signed afresh each attempt: a retry's token is not a stale one.
    const token = sign.issue({ sub: event.userId, aud: client.id, claims: { sid: event.sessionId, events: { [LOGOUT_EVENT]: {} } } });
    let failure: string;
    try {
      const response = await fetch(client.backchannelLogoutUri!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token.token }),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      await response.body?.cancel();
      if (response.ok) return void telemetry.security('backchannel_logout_delivered', { client_id: client.id, attempt });
      failure = `status ${response.status}`;
    } catch (error) {
      failure =
        (error as Error).name === 'TimeoutError'
          ? 'timed out'
          : (((error as Error).cause as Error | undefined)?.message ?? (error as Error).message);
    }
    const delay = RETRY_DELAYS_S[attempt];
    if (delay === undefined)
      return void telemetry.security('backchannel_logout_failed', { client_id: client.id, attempt, reason: failure });
    const timer = setTimeout(() => {
      timers.delete(timer);
      void deliver(client, event, attempt + 1);
    }, delay * 1000);
    timer.unref();
    timers.add(timer);
  }

  const onEnded = (event: SessionEndedEvent) => {
    const client = event.clientId === undefined ? undefined : listening.get(event.clientId);
    if (client) void deliver(client, event, 0);
  };
  auth.events.on('sessionEnded', onEnded);
  return {
    close() {
      auth.events.off('sessionEnded', onEnded);
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
