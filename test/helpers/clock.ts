import type { Clock } from '../../packages/tessera-auth/src/base/clock.js';

export interface FrozenClock extends Clock {
  advance(ms: number): void;
}

/** A clock that moves only when told to. */
export function frozenClock(start = Date.UTC(2030, 0, 1)): FrozenClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}
