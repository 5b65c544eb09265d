import { OverloadedError } from 'tessera-auth';

export interface HashingGateOptions {
  /** Hashes running at once (default 4: libuv's thread pool, where argon2 runs). */
  readonly concurrency?: number;
  /** Logins and password changes that may wait for a slot (default 32); more are shed. */
  readonly queue?: number;
  /** Registrations that may wait (default 4): a flood of them can never crowd out a login. */
  readonly backgroundQueue?: number;
}

/** `urgent`: someone signing in; `background`: a new account, which can wait or be refused. */
export type HashingPriority = 'urgent' | 'background';

export type HashingGate = <T>(priority: HashingPriority, work: () => Promise<T>) => Promise<T>;

/**
 * Bounded concurrency for password hashing. Every argon2 call takes ~50 ms of a thread-pool
 * thread; unbounded, 600 registrations in flight made a login wait a second. Here at most
 * `concurrency` run, logins go before registrations, and past the queues a request is refused at
 * once with 503 and Retry-After instead of waiting behind everyone else.
 */
export function createHashingGate(options: HashingGateOptions = {}): HashingGate {
  const concurrency = options.concurrency ?? 4;
  const limits = { urgent: options.queue ?? 32, background: options.backgroundQueue ?? 4 };
  const waiting: Record<HashingPriority, (() => void)[]> = { urgent: [], background: [] };
  let running = 0;

  /** A finished hash hands its slot to the next in line, logins first. */
  const release = () => {
    const next = waiting.urgent.shift() ?? waiting.background.shift();
    if (next) next();
    else running--;
  };

  return async function hashingSlot<T>(priority: HashingPriority, work: () => Promise<T>): Promise<T> {
    if (running < concurrency) running++;
    else if (waiting[priority].length >= limits[priority]) throw new OverloadedError(1);
    else await new Promise<void>((resolve) => waiting[priority].push(resolve));
    try {
      return await work();
    } finally {
      release();
    }
  };
}
