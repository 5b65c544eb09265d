import type { CounterStore } from 'tessera-auth';
import { clientNetwork } from './client-network.js';
import { counterKey, countWithin, throttled, type ThrottleLimit } from './counted-limits.js';

export interface LoginThrottleOptions {
  /**
   * One client (address) guessing one account: `free` attempts per window, then one attempt at a
   * time after a delay that doubles with each failure (`firstDelayMs`, default 1 s, then 2 s, 4 s …)
   * up to `maxDelayMs`.
   */
  readonly perAccountAndClient: {
    readonly free: number;
    readonly maxDelayMs: number;
    readonly windowMs: number;
    readonly firstDelayMs?: number;
  };
  /** One client across every account (password spraying). */
  readonly perClient: ThrottleLimit;
  /** One name from every untrusted client (a distributed guess). A trusted device is neither counted nor stopped by it. */
  readonly perAccount: ThrottleLimit;
  /** Failures through one trusted device (or one signed-in session) before it counts as untrusted. */
  readonly perTrusted: ThrottleLimit;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  perAccountAndClient: { free: 5, maxDelayMs: 15 * 60_000, windowMs: 60 * 60_000 },
  perClient: { max: 100, windowMs: 15 * 60_000 },
  perAccount: { max: 100, windowMs: 60 * 60_000 },
  perTrusted: { max: 10, windowMs: 15 * 60_000 },
};

export interface LoginAttempt {
  /** The name tried: counted whether or not an account has it, so the answers never tell. */
  readonly username: string;
  /** The id of the account with that name, if any (what a trusted device vouches for). */
  readonly account?: string | undefined;
  /** The client's address (an IPv6 /64 counts as one client). */
  readonly client: string;
  /** A handle that vouches for the client on this account: a device cookie it was given, or its session. */
  readonly trusted?: string | undefined;
}

export interface AttemptTicket {
  /** A correct password: the attempt is given back. */
  succeeded(): Promise<void>;
}

/** The delay after the `failures`-th failure of one client on one name: doubling past the free ones. */
export const delayAfterFailures = (pair: LoginThrottleOptions['perAccountAndClient'], failures: number) =>
  Math.min(pair.maxDelayMs, (pair.firstDelayMs ?? 1000) * 2 ** Math.max(0, failures - pair.free - 1));

/**
 * Login throttling that slows guessing without locking out the owner (OWASP's "slow down online
 * guessing", NIST SP 800-63B 5.2.2):
 * - a client that proves it has logged in to this account before (a device cookie, or a session
 *   for a password change) is counted on its own and not stopped by what other clients do;
 * - any other client gets a few free attempts per name, then doubling delays, and a limit across
 *   names; a name also has a limit for untrusted clients overall.
 *
 * Every counter is kept by the name sent, not the account: a name with no account is throttled
 * exactly like one with an account (same statuses, same Retry-After, both refused before any
 * hashing), so the throttle tells nothing about which names exist. Storage stays bounded: keys are
 * fixed-size digests, an attempt refused by a counter it read writes nothing (`countWithin`), and
 * the per-client limit caps what one client (address, or IPv6 /64) can add: at most three small
 * counters per attempt it is allowed. Each attempt is counted before the password is checked, so
 * parallel guesses cannot slip past.
 */
export function createLoginThrottle(counters: CounterStore, options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE) {
  const { perAccountAndClient: pair, perClient, perAccount, perTrusted } = options;
  const delayAfter = (failures: number) => delayAfterFailures(pair, failures);

  /** A trusted client: counted on its own; past its limit it is treated like any other client. */
  async function trustedAttempt(key: string): Promise<AttemptTicket | undefined> {
    if (((await counters.get(key))?.count ?? 0) >= perTrusted.max) return undefined;
    await countWithin(counters, [{ key, ...perTrusted }]);
    return { succeeded: () => counters.reset(key) };
  }

  return {
    /** Counts one attempt, or throws `ThrottledError` (with Retry-After). */
    async attempt(attempt: LoginAttempt): Promise<AttemptTicket> {
      const { username, account, trusted } = attempt;
      if (account !== undefined && trusted !== undefined) {
        const ticket = await trustedAttempt(counterKey('login:t:', account, trusted));
        if (ticket) return ticket;
      }
      const client = clientNetwork(attempt.client);
      const clientKey = counterKey('login:c:', client);
      const nameKey = counterKey('login:a:', username);
      const pairKey = counterKey('login:p:', username, client);
      const delayKey = counterKey('login:d:', username, client);
      // While a delay runs, refused without a write.
      const delay = await counters.get(delayKey);
      if (delay) throw throttled(delay);
      await countWithin(counters, [
        { key: clientKey, ...perClient },
        { key: nameKey, ...perAccount },
      ]);
      const pairCount = await counters.add(pairKey, 1, pair.windowMs);
      // Past the free attempts, one attempt per delay: the one that starts the delay goes ahead.
      if (pairCount.count > pair.free) {
        const waiting = await counters.add(delayKey, 1, delayAfter(pairCount.count));
        if (waiting.count > 1) throw throttled(waiting);
      }
      return {
        async succeeded() {
          await Promise.all([
            counters.add(clientKey, -1, perClient.windowMs),
            counters.add(nameKey, -1, perAccount.windowMs),
            counters.reset(pairKey),
            counters.reset(delayKey),
          ]);
        },
      };
    },
  };
}
