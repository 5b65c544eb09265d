/** Milliseconds since the epoch. Injected everywhere time matters, so tests can freeze it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
