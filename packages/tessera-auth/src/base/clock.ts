/** Milliseconds since the epoch. Injected everywhere time matters, so tests can freeze it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The real time (`Date.now()`); the default everywhere a clock is an option. */
export const systemClock: Clock = { now: () => Date.now() };
