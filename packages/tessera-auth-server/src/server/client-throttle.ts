import type { CounterStore } from 'tessera-auth';
import { clientNetwork } from './client-network.js';
import { counterKey, throttled } from './counted-limits.js';
import { delayAfterFailures, type LoginThrottleOptions } from './login-throttle.js';

/**
 * Guessing at the token endpoint (client secrets, codes, verifiers, refresh tokens), slowed like
 * password guessing at login: per client id and address, a few free failures, then one attempt per
 * delay that doubles with each failure; per address, a limit across client ids. There is no limit
 * per client id across addresses: a client's id is public, and such a limit would let anyone lock
 * a service out. Only failures are written; a request costs two reads (in parallel) until then.
 */
export function createClientThrottle(counters: CounterStore, options: Pick<LoginThrottleOptions, 'perAccountAndClient' | 'perClient'>) {
  const { perAccountAndClient: pair, perClient } = options;

  return {
    /** Refuses (`ThrottledError`, with Retry-After) while a delay runs or the address is past its limit. */
    async check(clientId: string, address: string): Promise<{ failed(): Promise<void> }> {
      const network = clientNetwork(address);
      const keys = {
        pair: counterKey('oauth:p:', clientId, network),
        delay: counterKey('oauth:d:', clientId, network),
        network: counterKey('oauth:c:', network),
      };
      const [delay, fromNetwork] = await Promise.all([counters.get(keys.delay), counters.get(keys.network)]);
      if (delay) throw throttled(delay);
      if (fromNetwork && fromNetwork.count >= perClient.max) throw throttled(fromNetwork);
      return {
        async failed() {
          const [failures] = await Promise.all([
            counters.add(keys.pair, 1, pair.windowMs),
            counters.add(keys.network, 1, perClient.windowMs),
          ]);
          if (failures.count > pair.free) await counters.add(keys.delay, 1, delayAfterFailures(pair, failures.count));
        },
      };
    },
  };
}

export type ClientThrottle = ReturnType<typeof createClientThrottle>;
