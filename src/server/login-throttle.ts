import { hash } from 'node:crypto';
import { ThrottledError } from '../core/errors.js';
import type { CounterState, CounterStore } from '../stores/store.js';

export interface ThrottleLimit {
  /** Attempts allowed per window. */
  readonly max: number;
  readonly windowMs: number;
}

export interface LoginThrottleOptions {
  /**
   * One client (address) guessing one account: `free` attempts per window, then one attempt at a
   * time after a delay that doubles with each failure (1 s, 2 s, 4 s …) up to `maxDelayMs`.
   */
  readonly perAccountAndClient: { readonly free: number; readonly maxDelayMs: number; readonly windowMs: number };
  /** One client across every account (password spraying). */
  readonly perClient: ThrottleLimit;
  /** One account from every untrusted client (a distributed guess). A trusted device is neither counted nor stopped by it. */
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
  /** The existing account tried, if any: nothing is counted per account for a name that does not exist. */
  readonly account?: string | undefined;
  /** The client's address. */
  readonly client: string;
  /** A handle that vouches for the client on this account: a device cookie it was given, or its session. */
  readonly trusted?: string | undefined;
}

export interface AttemptTicket {
  /** A correct password: the attempt is given back. */
  succeeded(): Promise<void>;
}

/** Fixed-size keys (128 bits of SHA-256), whatever the attacker sends. */
const digest = (...parts: string[]) => hash('sha256', parts.join('\u0000'), 'base64url').slice(0, 22);

/**
 * Login throttling that slows guessing without locking out the owner (OWASP's "slow down online
 * guessing", NIST SP 800-63B 5.2.2):
 * - a client that proves it has logged in to this account before (a device cookie, or a session
 *   for a password change) is counted on its own and not stopped by what other clients do;
 * - any other client gets a few free attempts per account, then doubling delays, and a limit
 *   across accounts; an account also has a limit for untrusted clients overall.
 *
 * Storage stays bounded: keys are fixed-size digests, nothing is counted per account for a name
 * that does not exist, and an attempt refused by a counter it read writes nothing. Each attempt is
 * counted before the password is checked, so a burst of parallel guesses cannot slip past.
 */
export function createLoginThrottle(counters: CounterStore, options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE) {
  const { perAccountAndClient: pair, perClient, perAccount, perTrusted } = options;
  const read = (key: string | undefined) => (key === undefined ? null : counters.get(key));
  const refuse = (state: CounterState): never => {
    throw new ThrottledError(Math.max(1, Math.ceil(state.resetInMs / 1000)));
  };
  const delayAfter = (failures: number) => Math.min(pair.maxDelayMs, 1000 * 2 ** Math.max(0, failures - pair.free - 1));

  /** A trusted client: counted on its own; past its limit it is treated like any other client. */
  async function trustedAttempt(key: string): Promise<AttemptTicket | undefined> {
    if (((await counters.get(key))?.count ?? 0) >= perTrusted.max) return undefined;
    const counted = await counters.add(key, 1, perTrusted.windowMs);
    if (counted.count > perTrusted.max) refuse(counted);
    return { succeeded: () => counters.reset(key) };
  }

  return {
    /** Counts one attempt, or throws `ThrottledError` (with Retry-After). */
    async attempt(attempt: LoginAttempt): Promise<AttemptTicket> {
      const { account: accountId, client: address, trusted } = attempt;
      if (accountId !== undefined && trusted !== undefined) {
        const ticket = await trustedAttempt(`login:t:${digest(accountId, trusted)}`);
        if (ticket) return ticket;
      }
      const clientKey = `login:c:${digest(address)}`;
      const perAccountKeys = accountId === undefined ? undefined : {
        account: `login:a:${digest(accountId)}`,
        pair: `login:p:${digest(accountId, address)}`,
        delay: `login:d:${digest(accountId, address)}`,
      };

      // Read first: an attempt refused here writes nothing.
      const [client, account, delay] = await Promise.all([read(clientKey), read(perAccountKeys?.account), read(perAccountKeys?.delay)]);
      if (client && client.count >= perClient.max) refuse(client);
      if (account && account.count >= perAccount.max) refuse(account);
      if (delay) refuse(delay);

      const counted = await counters.add(clientKey, 1, perClient.windowMs);
      if (counted.count > perClient.max) refuse(counted);
      if (!perAccountKeys) return { succeeded: async () => void (await counters.add(clientKey, -1, perClient.windowMs)) };

      const [accountCounted, pairCounted] = await Promise.all([
        counters.add(perAccountKeys.account, 1, perAccount.windowMs),
        counters.add(perAccountKeys.pair, 1, pair.windowMs),
      ]);
      if (accountCounted.count > perAccount.max) refuse(accountCounted);
      // Past the free attempts, one attempt per delay: the one that starts the delay goes ahead.
      if (pairCounted.count > pair.free) {
        const waiting = await counters.add(perAccountKeys.delay, 1, delayAfter(pairCounted.count));
        if (waiting.count > 1) refuse(waiting);
      }
      return {
        async succeeded() {
          await Promise.all([
            counters.add(clientKey, -1, perClient.windowMs),
            counters.add(perAccountKeys.account, -1, perAccount.windowMs),
            counters.reset(perAccountKeys.pair),
            counters.reset(perAccountKeys.delay),
          ]);
        },
      };
    },
  };
}
