import type { CounterStore } from 'tessera-auth';
import { clientNetwork } from './client-network.js';
import { counterKey, countWithin, type ThrottleLimit } from './counted-limits.js';

export interface RegistrationThrottleOptions {
  /** Registrations (taken names included) from one client address, an IPv6 /64 counting as one. */
  readonly perClient: ThrottleLimit;
  /** Accounts created, by everyone: a ceiling on mass sign-ups. */
  readonly overall: ThrottleLimit;
}

export const DEFAULT_REGISTRATION_THROTTLE: RegistrationThrottleOptions = {
  perClient: { max: 20, windowMs: 10 * 60_000 },
  overall: { max: 1000, windowMs: 10 * 60_000 },
};

/** Gives back a counted registration's share of the overall ceiling: no account came of it. */
export type RegistrationRefund = () => Promise<void>;

/**
 * Counts a registration attempt, or throws `ThrottledError`. Each attempt counts for its client, a
 * taken name included: a 409 tells whether a name exists, so this limit is also what keeps that
 * oracle slow. The overall ceiling counts only attempts that create an account: the caller gives
 * back the others (a taken name, a request shed under load), so one network's flood spends at most
 * its own limit of it, and never closes sign-up for everyone.
 */
export function createRegistrationThrottle(counters: CounterStore, options: RegistrationThrottleOptions = DEFAULT_REGISTRATION_THROTTLE) {
  const overallKey = 'register:all';
  return async (client: string): Promise<RegistrationRefund> => {
    await countWithin(counters, [
      {
        key: counterKey('register:c:', clientNetwork(client)),
        ...options.perClient,
        message: 'Too many registrations from this network; try again later.',
      },
      { key: overallKey, ...options.overall, message: 'Too many new accounts lately; try again later.' },
    ]);
    return async () => void (await counters.add(overallKey, -1, options.overall.windowMs));
  };
}
