import { hash } from 'node:crypto';
import { type CounterState, type CounterStore, ThrottledError } from 'tessera-auth';

export interface ThrottleLimit {
  /** Attempts allowed per window. */
  readonly max: number;
  readonly windowMs: number;
}

/** A limit on one counter; `message` is the 429's detail (default: too many failed attempts). */
export interface CountedLimit extends ThrottleLimit {
  readonly key: string;
  readonly message?: string;
}

/** A counter key of fixed size (128 bits of SHA-256), whatever the attacker sends. */
export const counterKey = (prefix: string, ...parts: string[]) =>
  `${prefix}${hash('sha256', parts.join('\u0000'), 'base64url').slice(0, 22)}`;

/** The 429 for a counter at its limit, with the rest of its window as Retry-After. */
export function throttled(state: CounterState, message?: string): ThrottledError {
  return new ThrottledError(Math.max(1, Math.ceil(state.resetInMs / 1000)), message);
}

/**
 * Counts one attempt against every limit, or throws `ThrottledError`. The counters are read first,
 * so an attempt refused by one already at its limit writes nothing (an attacker's refused requests
 * cannot grow the store); then each is incremented, which also stops a parallel burst.
 */
export async function countWithin(counters: CounterStore, limits: readonly CountedLimit[]): Promise<void> {
  const states = await Promise.all(limits.map((limit) => counters.get(limit.key)));
  for (const [i, state] of states.entries()) if (state && state.count >= limits[i]!.max) throw throttled(state, limits[i]!.message);
  const counted = await Promise.all(limits.map((limit) => counters.add(limit.key, 1, limit.windowMs)));
  for (const [i, state] of counted.entries()) if (state.count > limits[i]!.max) throw throttled(state, limits[i]!.message);
}
