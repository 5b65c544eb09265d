import type { CounterStore } from 'tessera-auth';
import { counterKey, countWithin, type ThrottleLimit } from './counted-limits.js';

export interface RegistrationThrottleOptions {
  /** Registrations (taken names included) from one client address. */
  readonly perClient: ThrottleLimit;
  /** Registrations from everyone: a ceiling on mass sign-ups. */
  readonly overall: ThrottleLimit;
}

export const DEFAULT_REGISTRATION_THROTTLE: RegistrationThrottleOptions = {
  perClient: { max: 20, windowMs: 10 * 60_000 },
  overall: { max: 1000, windowMs: 10 * 60_000 },
};

/**
 * Counts a registration attempt, or throws `ThrottledError`. Each attempt counts, a taken name
 * included: a 409 tells whether a name exists, so this limit is also what keeps that oracle slow.
 */
export function createRegistrationThrottle(counters: CounterStore, options: RegistrationThrottleOptions = DEFAULT_REGISTRATION_THROTTLE) {
  return (client: string) =>
    countWithin(counters, [
      { key: counterKey('register:c:', client), ...options.perClient },
      { key: 'register:all', ...options.overall },
    ]);
}
