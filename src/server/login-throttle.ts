import { ThrottledError } from '../core/errors.js';
import type { CounterStore } from '../stores/store.js';

export interface ThrottleLimit {
  /** Failed attempts allowed per window. */
  readonly max: number;
  readonly windowMs: number;
}

export interface LoginThrottleOptions {
  readonly perAccount: ThrottleLimit;
  readonly perIp: ThrottleLimit;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  perAccount: { max: 10, windowMs: 15 * 60_000 },
  perIp: { max: 100, windowMs: 15 * 60_000 },
};

/**
 * Counts login attempts per account and per client IP in the store, so every instance shares the
 * count. An attempt is counted before the password is checked (an atomic increment), so a burst
 * of parallel guesses cannot slip past the limit; a success gives its count back.
 */
export function createLoginThrottle(counters: CounterStore, options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE) {
  const accountKey = (username: string) => `login:user:${username.normalize('NFKC').toLowerCase()}`;
  const ipKey = (ip: string) => `login:ip:${ip}`;

  return {
    /** Counts one attempt; throws `ThrottledError` (with Retry-After) when a limit is passed. */
    async attempt(username: string, ip: string): Promise<void> {
      const [account, client] = await Promise.all([
        counters.add(accountKey(username), 1, options.perAccount.windowMs),
        counters.add(ipKey(ip), 1, options.perIp.windowMs),
      ]);
      const waits: number[] = [];
      if (account.count > options.perAccount.max) waits.push(account.resetInMs);
      if (client.count > options.perIp.max) waits.push(client.resetInMs);
      if (waits.length > 0) throw new ThrottledError(Math.max(1, Math.ceil(Math.max(...waits) / 1000)));
    },

    /** A correct password clears the account's failures and returns the IP's attempt. */
    async succeeded(username: string, ip: string): Promise<void> {
      await Promise.all([
        counters.reset(accountKey(username)),
        counters.add(ipKey(ip), -1, options.perIp.windowMs),
      ]);
    },
  };
}
